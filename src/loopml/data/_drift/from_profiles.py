"""Drift from stored profiles, without re-reading either table.

A profile keeps, per numeric column, a fixed-bin histogram with its edges and a set of exact
quantiles: together they pin the empirical CDF at ~60 points, between which we interpolate
linearly. From the two interpolated CDFs:

- Wasserstein is the area between them (trapezoids on a fine shared grid), normed by the
  reference std that the profile stores;
- KS is their largest gap on that grid, with Smirnov's asymptotic p-value for the real counts;
- PSI, Jensen-Shannon and χ² use the reference histogram's bins, the current mass per bin read
  off its CDF.

Categorical columns use the stored top categories plus one "(other)" bucket (exact when a column
has no more distinct values than the profile's ``top_k``). Every column is marked approximate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from loopml.data._drift import categorical, methods, numeric, plots
from loopml.data._drift.report import ColumnDrift, DriftReport
from loopml.data.profiling import ColumnProfile, DatasetProfile, profile
from loopml.errors import InvalidParameterError

__all__ = ["drift_from_profiles"]

GRID_POINTS = 512
APPROX_NOTE = "from stored profiles: histogram approximation"


def _as_profile(obj: Any) -> DatasetProfile:
    """A profile as given, from its stored dict, or made now from raw data."""
    if isinstance(obj, DatasetProfile):
        return obj
    if isinstance(obj, dict):
        return DatasetProfile.from_dict(obj)
    return profile(obj)


def drift_from_profiles(
    reference: Any,
    current: Any,
    *,
    columns: Sequence[str] | None,
    tests: str | Mapping[str, str] | None,
    threshold: float | Mapping[str, float] | None,
    share: float,
) -> DriftReport:
    ref, cur = _as_profile(reference), _as_profile(current)
    wanted = methods.select_columns(
        columns, list(ref.columns), ref.source or "the reference profile"
    )
    tested: dict[str, ColumnDrift] = {}
    skipped: dict[str, str] = {}
    for name in wanted:
        if name not in cur.columns:
            skipped[name] = "not in the current profile"
            continue
        options = methods.column_options(name, tests, threshold)
        result = _column(ref.columns[name], cur.columns[name], options)
        if isinstance(result, str):
            skipped[name] = result
        else:
            tested[name] = result
    for name in cur.columns:
        if name not in ref.columns:
            skipped[name] = "not in the reference"
    return DriftReport(
        columns=tested,
        share_threshold=share,
        reference_rows=ref.rows,
        current_rows=cur.rows,
        source="profiles",
        skipped=skipped,
        reference_label=ref.source or "reference profile",
        current_label=cur.source or "current profile",
    )


def _kind(col: ColumnProfile) -> str:
    return "numeric" if col.kind == "datetime" else col.kind


def _column(r: ColumnProfile, c: ColumnProfile, options: methods.Options) -> ColumnDrift | str:
    kind = _kind(r)
    if _kind(c) != kind:
        return f"type changed: {r.dtype} in the reference, {c.dtype} now"
    if kind not in ("numeric", "categorical"):
        return f"type {r.dtype} is not tested"
    if r.present == 0 or c.present == 0:
        return f"no non-missing values in the {'reference' if r.present == 0 else 'current'}"
    few = kind == "numeric" and _few_values(r, c)
    method, reason = methods.pick(options, r.name, kind, r.present, few)
    if kind == "categorical" or (few and method.name not in ("ks", "wasserstein")):
        statistic, p_value, plot = _categorical(method, r, c)
    else:
        if r.histogram is None or c.histogram is None:
            return "the profile has no histogram for this column"
        statistic, p_value, plot = _numeric(method, r, c)
    limit = method.threshold if options.threshold is None else options.threshold
    value = statistic if p_value is None else p_value
    return ColumnDrift(
        column=r.name,
        kind=kind,
        test=method.name,
        test_title=method.title,
        statistic=statistic,
        p_value=p_value,
        threshold=limit,
        rule=method.rule(limit),
        drifted=method.drifted(value, limit),
        reason=f"{reason}; {APPROX_NOTE}",
        reference_count=r.present,
        current_count=c.present,
        reference_missing=r.missing,
        current_missing=c.missing,
        approximate=True,
        plot=plot,
    )


def _few_values(r: ColumnProfile, c: ColumnProfile) -> bool:
    if r.other or c.other or not r.top or not c.top:
        return False
    values = {v for v, _ in r.top} | {v for v, _ in c.top}
    return len(values) <= methods.FEW_VALUES


# -- categorical ---------------------------------------------------------------------------------
def _category_counts(r: ColumnProfile, c: ColumnProfile) -> tuple[list[str], Any, Any]:
    labels: list[Any] = [v for v, _ in r.top]
    index = {v: i for i, v in enumerate(labels)}
    for v, _ in c.top:
        if v not in index:
            index[v] = len(labels)
            labels.append(v)
    rc = np.zeros(len(labels) + 1, dtype=np.float64)
    cc = np.zeros(len(labels) + 1, dtype=np.float64)
    for v, n in r.top:
        rc[index[v]] = n
    for v, n in c.top:
        cc[index[v]] = n
    rc[-1], cc[-1] = r.other, c.other
    names = [str(v) for v in labels] + ["(other)"]
    if not (r.other or c.other):
        return names[:-1], rc[:-1], cc[:-1]
    return names, rc, cc


def _categorical(
    method: methods.Method, r: ColumnProfile, c: ColumnProfile
) -> tuple[float, float | None, dict[str, Any]]:
    names, rc, cc = _category_counts(r, c)
    plot = plots.counts_plot(names, rc, cc)
    return (*_binned(method, rc, cc), plot)


def _binned(method: methods.Method, rc: Any, cc: Any) -> tuple[float, float | None]:
    if method.name == "chi2":
        return categorical.chi2_homogeneity(rc, cc)
    if method.name == "jensenshannon":
        return numeric.js_from_counts(rc, cc), None
    if method.name == "psi":
        return numeric.psi_from_counts(rc, cc, int(rc.sum()), int(cc.sum())), None
    raise InvalidParameterError(f"test {method.name!r} needs a numeric column")


# -- numeric -------------------------------------------------------------------------------------
def _cdf_knots(col: ColumnProfile) -> tuple[Any, Any]:
    """(x, F(x)) points of the empirical CDF that the profile pins down, increasing in x."""
    assert col.histogram is not None
    edges = np.asarray(col.histogram["edges"], dtype=np.float64)
    counts = np.asarray(col.histogram["counts"], dtype=np.float64)
    cdf = np.concatenate([[0.0], np.cumsum(counts)]) / max(counts.sum(), 1.0)
    qs = np.asarray([float(q) for q in col.quantiles], dtype=np.float64)
    qv = np.asarray(list(col.quantiles.values()), dtype=np.float64)
    x = np.concatenate([edges, qv])
    f = np.concatenate([cdf, qs])
    order = np.argsort(x, kind="stable")
    x, f = x[order], np.maximum.accumulate(f[order])
    keep = np.append(x[1:] != x[:-1], True)  # the last (highest F) of equal x
    return x[keep], f[keep]


def _numeric(
    method: methods.Method, r: ColumnProfile, c: ColumnProfile
) -> tuple[float, float | None, dict[str, Any]]:
    xa, fa = _cdf_knots(r)
    xb, fb = _cdf_knots(c)
    lo, hi = min(xa[0], xb[0]), max(xa[-1], xb[-1])
    grid = np.union1d(np.union1d(xa, xb), np.linspace(lo, hi, GRID_POINTS))
    ga = np.interp(grid, xa, fa, left=0.0, right=1.0)
    gb = np.interp(grid, xb, fb, left=0.0, right=1.0)
    gap = np.abs(ga - gb)
    edges = np.linspace(lo, hi, plots.PLOT_BINS + 1)
    plot = {
        "kind": "numeric",
        "edges": [float(e) for e in edges],
        "reference": [float(v) for v in np.diff(np.interp(edges, xa, fa, 0.0, 1.0))],
        "current": [float(v) for v in np.diff(np.interp(edges, xb, fb, 0.0, 1.0))],
    }
    if method.name == "wasserstein":
        area = float(np.sum((gap[1:] + gap[:-1]) / 2 * np.diff(grid)))
        return area / max(r.std or 0.0, numeric.MIN_NORM), None, plot
    if method.name == "ks":
        from scipy import stats

        d = float(gap.max())
        big, small = sorted((float(r.present), float(c.present)), reverse=True)
        en = big * small / (big + small)
        return d, float(np.clip(stats.kstwo.sf(d, np.round(en)), 0, 1)), plot
    assert r.histogram is not None
    ref_edges = np.asarray(r.histogram["edges"], dtype=np.float64)
    rc = np.asarray(r.histogram["counts"], dtype=np.float64)
    fc = np.interp(ref_edges, xb, fb, left=0.0, right=1.0)
    fc[0], fc[-1] = 0.0, 1.0  # mass beyond the reference's range joins the end bins
    cc = np.diff(fc) * c.present
    return (*_binned(method, rc, cc), plot)
