"""Drift statistics of numeric columns, all from samples sorted once.

Sorting is the only O(n log n) step. With both samples sorted, every statistic is a linear pass:

- the **normed Wasserstein distance** is ``∫|Qa(u) - Qb(u)| du / std(reference)``, the area
  between the quantile functions. Its breakpoints are the merge of ``i/n`` and ``j/m``: a grid that
  depends only on ``(n, m)`` and is built once for every column of the same size;
- **KS** is the largest gap between the two empirical CDFs, read at every value by
  ``searchsorted`` (the same evaluation as ``scipy.stats.ks_2samp``, whose p-value formulas we
  use: exact for samples of at most 10,000, Smirnov's asymptotic above);
- **PSI** and binned **Jensen-Shannon** count values per bin with ``searchsorted`` of the bin
  edges, on the bins Evidently uses (Sturges' rule over both samples) so verdicts are comparable.

:class:`Sorted` caches what a reference needs (sorted values, std, distinct count), so drift
against a kept reference sorts only the current sample.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

__all__ = [
    "EXACT_KS_MAX_N",
    "Sorted",
    "bin_counts",
    "histogram",
    "js_from_counts",
    "ks_2samp",
    "psi_from_counts",
    "sturges_edges",
    "wasserstein",
]

# scipy.stats.ks_2samp computes exact p-values up to this sample size (its MAX_AUTO_N).
EXACT_KS_MAX_N = 10_000
# Evidently's floor for the std that norms the Wasserstein distance (constant columns).
MIN_NORM = 0.001

Array = Any  # numpy.ndarray of float64


@dataclass(frozen=True)
class Sorted:
    """One numeric sample, sorted, with the moments every test needs."""

    values: Array
    n: int
    mean: float
    std: float  # population std (ddof=0), as Evidently norms by np.std

    @classmethod
    def of(cls, values: Array, *, presorted: bool = False) -> Sorted:
        data = values if presorted else np.sort(values, kind="quicksort")
        n = int(data.shape[0])
        if n == 0:
            return cls(data, 0, float("nan"), float("nan"))
        return cls(data, n, float(data.mean()), float(data.std()))

    @property
    def min(self) -> float:
        return float(self.values[0])

    @property
    def max(self) -> float:
        return float(self.values[-1])

    def distinct_at_most(self, limit: int) -> bool:
        """True if the sample holds at most ``limit`` distinct values (cheap: one pass)."""
        if self.n == 0:
            return True
        return int(np.count_nonzero(self.values[1:] != self.values[:-1])) + 1 <= limit

    def quantile(self, q: float) -> float:
        return float(self.values[min(self.n - 1, max(0, round(q * (self.n - 1))))])


# -- Wasserstein ----------------------------------------------------------------------------------
@lru_cache(maxsize=2)  # a grid is 3 arrays of n + m: keep few
def _quantile_grid(n: int, m: int) -> tuple[Array, Array, Array]:
    """Indices into both sorted samples and the width of each step of the merged quantile grid.

    In units of ``1/(n*m)`` the breakpoints are ``{i*m} | {j*n}``; on the step ending at ``U``
    the quantile functions take the values at indices ``ceil(U/m) - 1`` and ``ceil(U/n) - 1``.
    """
    # Two sorted runs: one sort + a neighbour mask, not ``np.union1d`` (its unique() is ~20x
    # slower on a million-point grid under numpy 2).
    grid = np.concatenate(
        [np.arange(1, n + 1, dtype=np.int64) * m, np.arange(1, m + 1, dtype=np.int64) * n]
    )
    grid.sort()
    grid = grid[np.concatenate(([True], grid[1:] != grid[:-1]))]
    index_a = (grid + (m - 1)) // m - 1
    index_b = (grid + (n - 1)) // n - 1
    widths = np.diff(grid, prepend=0) / (n * m)
    return index_a, index_b, widths


def wasserstein(a: Sorted, b: Sorted) -> float:
    """First Wasserstein distance between two sorted samples (equal to scipy's)."""
    if a.n == b.n:
        return float(np.abs(a.values - b.values).mean())
    index_a, index_b, widths = _quantile_grid(a.n, b.n)
    return float(np.dot(np.abs(a.values[index_a] - b.values[index_b]), widths))


def normed_wasserstein(a: Sorted, b: Sorted) -> float:
    """Wasserstein distance in units of the reference std (Evidently's ``wasserstein``)."""
    return wasserstein(a, b) / max(a.std, MIN_NORM)


# -- Kolmogorov-Smirnov ---------------------------------------------------------------------------
def ks_statistic(a: Sorted, b: Sorted) -> float:
    """The largest gap between the two empirical CDFs, read at every value of both samples."""
    both = np.concatenate([a.values, b.values])
    gap = np.searchsorted(a.values, both, side="right") / a.n
    gap -= np.searchsorted(b.values, both, side="right") / b.n
    return float(np.abs(gap).max())


def ks_2samp(a: Sorted, b: Sorted) -> tuple[float, float]:
    """(D, p-value) of the two-sided two-sample KS test, as ``scipy.stats.ks_2samp`` gives them."""
    from scipy import stats

    if max(a.n, b.n) <= EXACT_KS_MAX_N:
        with warnings.catch_warnings():  # "exact calculation unsuccessful": scipy falls back
            warnings.simplefilter("ignore", RuntimeWarning)
            result = stats.ks_2samp(a.values, b.values)
        return float(result.statistic), float(result.pvalue)
    d = ks_statistic(a, b)
    big, small = sorted((float(a.n), float(b.n)), reverse=True)
    en = big * small / (big + small)
    return d, float(np.clip(stats.kstwo.sf(d, np.round(en)), 0.0, 1.0))


# -- binned statistics ----------------------------------------------------------------------------
def sturges_edges(a: Sorted, b: Sorted) -> Array:
    """``np.histogram_bin_edges(concat(a, b), bins="sturges")`` without concatenating."""
    lo, hi = min(a.min, b.min), max(a.max, b.max)
    bins = int(np.ceil(np.log2(a.n + b.n) + 1))
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, bins + 1)


def bin_counts(sample: Sorted, edges: Array) -> Array:
    """Counts per bin like ``np.histogram`` (last bin closed); values outside are dropped."""
    cuts: Array = np.searchsorted(sample.values, edges, side="left")
    cuts[-1] = np.searchsorted(sample.values, edges[-1], side="right")
    return np.diff(cuts)


def histogram(sample: Sorted, edges: Array) -> Array:
    """Counts per bin with values below/above the edges folded into the first/last bin."""
    counts = bin_counts(sample, edges)
    if counts.size:
        counts[0] += int(np.searchsorted(sample.values, edges[0], side="left"))
        counts[-1] += sample.n - int(np.searchsorted(sample.values, edges[-1], side="right"))
    return counts


def _fill_zeroes(p: Array) -> Array:
    """Evidently's floor for empty bins (so that PSI's logarithm stays finite)."""
    nonzero = p[p != 0]
    if nonzero.size == 0:
        return p
    low = float(nonzero.min())
    return np.where(p == 0, low / 10**6 if low <= 0.0001 else 0.0001, p)


def psi_from_counts(ref_counts: Array, cur_counts: Array, n_ref: int, n_cur: int) -> float:
    """Population stability index of two binned samples (Evidently's formula and floor)."""
    p = _fill_zeroes(np.asarray(ref_counts, dtype=np.float64) / max(n_ref, 1))
    q = _fill_zeroes(np.asarray(cur_counts, dtype=np.float64) / max(n_cur, 1))
    return float(np.sum((p - q) * np.log(p / q)))


def js_from_counts(ref_counts: Array, cur_counts: Array) -> float:
    """Jensen-Shannon distance (natural log) of two count vectors, as
    ``scipy.spatial.distance.jensenshannon`` computes it after normalising."""
    p = np.asarray(ref_counts, dtype=np.float64)
    q = np.asarray(cur_counts, dtype=np.float64)
    if p.sum() == 0 or q.sum() == 0:
        return 0.0
    p, q = p / p.sum(), q / q.sum()
    mid = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.where(p > 0, p * np.log(p / mid), 0.0)
        right = np.where(q > 0, q * np.log(q / mid), 0.0)
    return float(np.sqrt(max((left.sum() + right.sum()) / 2, 0.0)))
