"""Profiling one column: numbers by sorting once, categories by hash counts (or DuckDB)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from loopml.data._drift.categorical import Counts
from loopml.data._drift.numeric import Sorted, bin_counts
from loopml.data._source import column_kind, numeric_values
from loopml.data.profiling import QUANTILES, ColumnProfile

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["profile_column", "quantiles_of", "uniform_edges"]


def uniform_edges(lo: float, hi: float, bins: int) -> Any:
    if not lo < hi:
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, bins + 1)


def quantiles_of(sample: Sorted) -> dict[str, float]:
    """Linearly interpolated quantiles (numpy's default method) of a sorted sample."""
    positions = np.asarray(QUANTILES) * (sample.n - 1)
    below = np.floor(positions).astype(np.int64)
    above = np.minimum(below + 1, sample.n - 1)
    frac = positions - below
    values = sample.values[below] * (1 - frac) + sample.values[above] * frac
    return {f"{q:g}": float(v) for q, v in zip(QUANTILES, values, strict=True)}


def profile_column(
    table: pa.Table, name: str, *, bins: int, top_k: int, approx_distinct: bool
) -> ColumnProfile:
    column = table.column(name)
    kind = column_kind(column.type)
    base = ColumnProfile(
        name=name,
        dtype=str(column.type),
        kind=kind,
        count=int(column.length()),
        missing=int(column.null_count),
    )
    if kind in ("numeric", "datetime"):
        return _numeric(base, column, bins, top_k)
    if kind == "categorical":
        if approx_distinct:
            return _categorical_duckdb(base, column, name, top_k)
        return _categorical(base, Counts.of(column), top_k)
    return base


def _numeric(base: ColumnProfile, column: Any, bins: int, top_k: int) -> ColumnProfile:
    sample = Sorted.of(numeric_values(column))
    base.missing = base.count - sample.n  # NaN counts as missing
    if sample.n == 0:
        base.distinct = 0
        return base
    values = sample.values
    starts = np.flatnonzero(np.concatenate([[True], values[1:] != values[:-1]]))
    base.distinct = int(starts.size)
    base.min, base.max, base.mean, base.std = sample.min, sample.max, sample.mean, sample.std
    base.quantiles = quantiles_of(sample)
    edges = uniform_edges(sample.min, sample.max, bins)
    base.histogram = {
        "edges": [float(e) for e in edges],
        "counts": [int(c) for c in bin_counts(sample, edges)],
    }
    if starts.size <= top_k:  # few values: keep them all, like categories
        counts = np.diff(np.append(starts, sample.n))
        order = np.argsort(-counts, kind="stable")
        base.top = [(_number(values[starts[i]]), int(counts[i])) for i in order]
    return base


def _number(value: Any) -> int | float:
    as_float = float(value)
    return int(as_float) if as_float.is_integer() and abs(as_float) < 2**53 else as_float


def _categorical(base: ColumnProfile, counts: Counts, top_k: int) -> ColumnProfile:
    base.distinct = int(counts.counts.size)
    k = min(top_k, base.distinct)
    if k == 0:
        return base
    import pyarrow as pa

    # Most frequent first, ties by value: the same top-k as DuckDB's ORDER BY n DESC, value.
    ranked = pa.table({"v": counts.values, "n": counts.counts}).sort_by(
        [("n", "descending"), ("v", "ascending")]
    )
    top = ranked.slice(0, k)
    base.top = list(zip(top["v"].to_pylist(), top["n"].to_pylist(), strict=True))
    base.other = int(counts.n - sum(n for _, n in base.top))
    return base


def _categorical_duckdb(base: ColumnProfile, column: Any, name: str, top_k: int) -> ColumnProfile:
    """Distinct by HyperLogLog, top categories by DuckDB's parallel GROUP BY."""
    import duckdb
    import pyarrow as pa

    ident = '"' + name.replace('"', '""') + '"'
    con = duckdb.connect()
    try:
        con.register("t", pa.table({name: column}))
        row = con.execute(f"SELECT approx_count_distinct({ident}) FROM t").fetchone()
        top = con.execute(
            f"SELECT {ident}, count(*) AS n FROM t WHERE {ident} IS NOT NULL "
            f"GROUP BY {ident} ORDER BY n DESC, {ident} LIMIT {int(top_k)}"
        ).fetchall()
    finally:
        con.close()
    base.distinct = int(row[0]) if row else 0
    base.distinct_approx = True
    base.top = [(v, int(n)) for v, n in top]
    base.other = base.present - sum(n for _, n in base.top)
    return base
