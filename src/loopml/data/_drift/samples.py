"""A table's columns prepared for drift tests, computed once per column and kept.

Numeric columns become :class:`Sorted` samples, categorical ones :class:`Counts`. A
:class:`DriftReference` keeps them, so monitoring that checks many current windows against one
training reference sorts the reference once (DESIGN.md: a cached sorted reference).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from loopml.data._drift.categorical import Counts
from loopml.data._drift.numeric import Sorted
from loopml.data._source import Loaded, column_kind, load, numeric_values

__all__ = ["ColumnSample", "DriftReference", "TableSamples"]


@dataclass(frozen=True)
class ColumnSample:
    kind: str  # "numeric" | "categorical"
    dtype: str
    data: Sorted | Counts
    missing: int

    @property
    def n(self) -> int:
        return self.data.n


class TableSamples:
    """Lazily prepared columns of one table (thread-safe: columns are prepared in parallel)."""

    def __init__(
        self, loaded: Loaded, categorical: frozenset[str] = frozenset(), *, keep: bool = True
    ) -> None:
        self.loaded = loaded
        self.categorical = categorical
        self.keep = keep  # False: prepare each column once and forget it (one drift call)
        self._cache: dict[str, ColumnSample] = {}
        self._lock = threading.Lock()

    @property
    def label(self) -> str:
        return self.loaded.label

    @property
    def rows(self) -> int:
        return int(self.loaded.table.num_rows)

    @property
    def column_names(self) -> list[str]:
        return list(self.loaded.table.column_names)

    def kind(self, name: str) -> str:
        """ "numeric", "categorical" or "other" (times count as numbers: epoch values)."""
        if name in self.categorical:
            return "categorical"
        kind = column_kind(self.loaded.table.schema.field(name).type)
        return "numeric" if kind == "datetime" else kind

    def sample(self, name: str, kind: str | None = None) -> ColumnSample:
        kind = kind or self.kind(name)
        key = f"{kind}:{name}"
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        column = self.loaded.table.column(name)
        dtype = str(column.type)
        data: Sorted | Counts
        data = Sorted.of(numeric_values(column)) if kind == "numeric" else Counts.of(column)
        sample = ColumnSample(kind, dtype, data, int(column.length()) - data.n)
        if self.keep:
            with self._lock:
                self._cache[key] = sample
        return sample


class DriftReference(TableSamples):
    """A reference table kept ready for repeated drift checks: ``drift(reference=ref, ...)``.

    ``categorical`` names numeric columns (codes, ids) to test as categories.
    """

    def __init__(self, source: Any, *, categorical: list[str] | None = None) -> None:
        loaded = load(source, role="reference", strings_as_dictionary=True, lazy=True)
        super().__init__(loaded, frozenset(categorical or ()))
