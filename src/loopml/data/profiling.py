"""Profiles: the per-column statistics stored with a dataset version.

A profile is small, JSON-serialisable and enough to check drift later without re-reading the
data: count, missing, distinct, min/max/mean/std, quantiles and a fixed-bin histogram (with its
edges) for numbers; the top categories with their counts for strings and booleans.

Numbers are sorted once (numpy), which gives exact quantiles, distinct counts and histogram
counts by ``searchsorted``. Categories are counted by Arrow's hash aggregation; above
``exact_distinct_limit`` rows their distinct count is DuckDB's ``approx_count_distinct``
(HyperLogLog) and the profile says so. No Python loop ever runs over rows.

This module is named ``profiling`` so that ``loopml.data.profile`` stays the function.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from loopml.errors import InvalidParameterError

__all__ = [
    "PROFILE_FORMAT",
    "QUANTILES",
    "ColumnProfile",
    "DatasetProfile",
    "profile",
    "profile_from_json",
    "profile_to_json",
]

PROFILE_FORMAT = 1
QUANTILES = (0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0)
HISTOGRAM_BINS = 50
TOP_K = 50
EXACT_DISTINCT_LIMIT = 1_000_000


@dataclass
class ColumnProfile:
    """Statistics of one column; numeric fields are None for categorical columns and back."""

    name: str
    dtype: str
    kind: str  # "numeric" | "categorical" | "datetime" | "other"
    count: int  # rows
    missing: int
    distinct: int | None = None
    distinct_approx: bool = False
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    std: float | None = None  # population std (ddof=0)
    quantiles: dict[str, float] = field(default_factory=dict)  # "0.5" -> median
    histogram: dict[str, list[float]] | None = None  # {"edges": [...], "counts": [...]}
    top: list[tuple[Any, int]] = field(default_factory=list)  # most frequent (value, count)
    other: int = 0  # non-missing values outside ``top``

    @property
    def present(self) -> int:
        return self.count - self.missing

    @property
    def missing_rate(self) -> float:
        return self.missing / self.count if self.count else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["top"] = [[v, c] for v, c in self.top]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnProfile:
        data = dict(data)
        data["top"] = [(v, int(c)) for v, c in data.get("top") or []]
        return cls(**data)


@dataclass
class DatasetProfile:
    """Per-column profiles of one table, in column order."""

    rows: int
    columns: dict[str, ColumnProfile]
    format: int = PROFILE_FORMAT
    source: str = ""

    def __getitem__(self, column: str) -> ColumnProfile:
        return self.columns[column]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "rows": self.rows,
            "source": self.source,
            "columns": [c.to_dict() for c in self.columns.values()],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetProfile:
        try:
            columns = [ColumnProfile.from_dict(c) for c in data["columns"]]
            return cls(
                rows=int(data["rows"]),
                columns={c.name: c for c in columns},
                format=int(data.get("format", PROFILE_FORMAT)),
                source=str(data.get("source", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidParameterError(f"not a loopml data profile: {exc}") from None

    def to_json(self) -> str:
        return profile_to_json(self)

    def to_html(self, path: str | Path | None = None) -> str:
        """A self-contained page: one histogram (or top-category chart) per column."""
        from loopml.data._html import render_profile

        page = render_profile(self)
        if path is not None:
            Path(path).write_text(page, encoding="utf-8")
        return page


def profile_to_json(prof: DatasetProfile) -> str:
    """The profile as JSON text (non-finite numbers as null), as stored with a version."""
    import orjson

    return orjson.dumps(prof.to_dict(), option=orjson.OPT_SERIALIZE_NUMPY).decode()


def profile_from_json(data: str | bytes | dict[str, Any]) -> DatasetProfile:
    """A profile back from :func:`profile_to_json` text (or its parsed dict)."""
    import orjson

    if isinstance(data, dict):
        return DatasetProfile.from_dict(data)
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidParameterError(f"profile is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise InvalidParameterError("profile JSON must be an object")
    return DatasetProfile.from_dict(parsed)


def profile(
    source: Any,
    *,
    bins: int = HISTOGRAM_BINS,
    top_k: int = TOP_K,
    exact_distinct_limit: int = EXACT_DISTINCT_LIMIT,
) -> DatasetProfile:
    """Profile a DataFrame, Arrow table, Parquet/CSV path or ``data:/`` URI."""
    from concurrent.futures import ThreadPoolExecutor

    from loopml.data._profile_columns import profile_column
    from loopml.data._source import load

    if bins < 1 or top_k < 1:
        raise InvalidParameterError("bins and top_k must be at least 1")
    loaded = load(source, lazy=True)  # a Parquet file: one column in memory at a time
    table = loaded.table
    names = list(table.column_names)
    approx = table.num_rows > exact_distinct_limit

    def one(name: str) -> ColumnProfile:
        return profile_column(table, name, bins=bins, top_k=top_k, approx_distinct=approx)

    workers = max(1, min(len(names), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        columns = list(pool.map(one, names))
    return DatasetProfile(
        rows=int(table.num_rows), columns={c.name: c for c in columns}, source=loaded.label
    )
