"""The reference-vs-current histogram of a column, as proportions on shared bins.

Numeric bins span both samples; when far outliers would squeeze the whole distribution into a
few bars, they span the 0.5%-99.5% quantiles instead and values beyond fall into the end bins.
Categories show the most frequent ones in either sample, the rest as "(other)".
"""

from __future__ import annotations

from typing import Any

import numpy as np

from loopml.data._drift import categorical, numeric
from loopml.data._drift.categorical import Counts
from loopml.data._drift.numeric import Sorted

__all__ = ["PLOT_BINS", "TOP_CATEGORIES", "categorical_plot", "numeric_plot"]

PLOT_BINS = 30
TOP_CATEGORIES = 20
# Bins span min..max unless that is this many times wider than the 0.5%-99.5% range.
OUTLIER_SPAN = 2.5


def _shares(counts: Any) -> list[float]:
    total = float(np.sum(counts))
    return [float(c) / total if total else 0.0 for c in counts]


def numeric_plot(ref: Sorted, cur: Sorted, bins: int = PLOT_BINS) -> dict[str, Any]:
    lo, hi = min(ref.min, cur.min), max(ref.max, cur.max)
    robust_lo = min(ref.quantile(0.005), cur.quantile(0.005))
    robust_hi = max(ref.quantile(0.995), cur.quantile(0.995))
    if robust_lo < robust_hi and (hi - lo) > OUTLIER_SPAN * (robust_hi - robust_lo):
        lo, hi = robust_lo, robust_hi  # far outliers: keep the bulk readable
    if not lo < hi:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    return {
        "kind": "numeric",
        "edges": [float(e) for e in edges],
        "reference": _shares(numeric.histogram(ref, edges)),
        "current": _shares(numeric.histogram(cur, edges)),
    }


def categorical_plot(ref: Counts, cur: Counts, top: int = TOP_CATEGORIES) -> dict[str, Any]:
    values, r, c = categorical.align(ref, cur)
    return counts_plot(values, r, c, top)


def counts_plot(labels: Any, r: Any, c: Any, top: int = TOP_CATEGORIES) -> dict[str, Any]:
    """``labels``: a list or an Arrow array of category values, aligned with the counts."""
    r = np.asarray(r, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    p, q = r / max(r.sum(), 1), c / max(c.sum(), 1)
    order = np.argsort(-np.maximum(p, q), kind="stable")
    keep, rest = order[:top], order[top:]
    if isinstance(labels, list):
        names = [str(labels[i]) for i in keep]
    else:
        names = [str(v) for v in labels.take(keep).to_pylist()]
    ref_shares, cur_shares = [float(x) for x in p[keep]], [float(x) for x in q[keep]]
    if rest.size:
        names.append(f"(other {rest.size})")
        ref_shares.append(float(p[rest].sum()))
        cur_shares.append(float(q[rest].sum()))
    return {
        "kind": "categorical",
        "categories": names,
        "reference": ref_shares,
        "current": cur_shares,
    }
