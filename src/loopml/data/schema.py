"""``DataSchema``: what a table should look like, inferred once and then edited by people.

The YAML form is the contract: short, one block per column, only the keys that say something.
A typo in it must not silently switch a check off, so every key is checked against the known
ones and an unknown key is an error naming the file, the line and the closest known key.

.. code-block:: yaml

    loopml_schema: 1
    min_rows: 1000
    keys: [customer_id]          # no two rows may share these values
    extra_columns: warn          # warn | error | allow
    columns:
      customer_id: {type: integer, nullable: false, unique: true}
      age:
        type: integer
        min: 18
        max: 120
        max_missing_rate: 0.02
      country:
        type: string
        categories: [DE, FR, US]
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loopml.errors import InvalidParameterError

__all__ = ["TYPES", "ColumnSchema", "DataSchema", "infer_schema", "logical_type"]

SCHEMA_FORMAT = 1
TYPES = ("integer", "float", "string", "boolean", "datetime", "date", "other")
EXTRA_COLUMNS = ("warn", "error", "allow")
# Strings with at most this many distinct values get an allowed-categories list.
MAX_CATEGORIES = 20


@dataclass
class ColumnSchema:
    """Expectations of one column; ``None`` means "not checked"."""

    name: str
    type: str
    nullable: bool = True
    min: float | None = None
    max: float | None = None
    categories: list[Any] | None = None
    unique: bool = False
    max_missing_rate: float | None = None

    def to_yaml_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if not self.nullable:
            out["nullable"] = False
        if self.unique:
            out["unique"] = True
        for key in ("min", "max", "max_missing_rate"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.categories is not None:
            out["categories"] = _Flow(self.categories)
        return out


@dataclass
class DataSchema:
    """Expectations of a table: its columns, row count, keys and what to say about extras."""

    columns: dict[str, ColumnSchema]
    min_rows: int | None = None
    keys: list[str] = field(default_factory=list)
    extra_columns: str = "warn"
    source: str = ""  # the YAML file it came from, for messages

    def __getitem__(self, column: str) -> ColumnSchema:
        return self.columns[column]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"loopml_schema": SCHEMA_FORMAT}
        if self.min_rows is not None:
            out["min_rows"] = self.min_rows
        out["keys"] = _Flow(self.keys)
        out["extra_columns"] = self.extra_columns
        out["columns"] = {name: col.to_yaml_dict() for name, col in self.columns.items()}
        return out

    def to_yaml(self, path: str | Path | None = None) -> str:
        """The schema as YAML (written to ``path`` if given): edit it, then validate with it."""
        import yaml

        text: str = _HEADER + yaml.dump(
            self.to_dict(), Dumper=_dumper(), sort_keys=False, allow_unicode=True, width=100
        )
        if path is not None:
            target = Path(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_yaml(cls, path: str | Path) -> DataSchema:
        """A schema from its YAML file; unknown keys and bad values name file, line and key."""
        from loopml.data._schema_yaml import parse_schema

        target = Path(path)
        try:
            text = target.read_text(encoding="utf-8")
        except FileNotFoundError:
            from loopml.errors import NotFoundError

            raise NotFoundError(f"schema file {target} does not exist", path=str(target)) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidParameterError(
                f"cannot read schema file {target}: {exc}", path=str(target)
            ) from None
        return parse_schema(text, str(target))

    @classmethod
    def from_yaml_text(cls, text: str, name: str = "<schema>") -> DataSchema:
        from loopml.data._schema_yaml import parse_schema

        return parse_schema(text, name)


_HEADER = (
    "# loopml data schema: edit by hand, then\n"
    "#   loopml data validate FILE --schema THIS.yaml\n"
    "# column keys: type, nullable, unique, min, max, categories, max_missing_rate\n"
    f"#   types: {', '.join(TYPES)}\n"
    "# top level: min_rows, keys, extra_columns (warn | error | allow)\n"
)


class _Flow(list[Any]):
    """A list written inline (``[a, b, c]``): short lists read better on one line."""


def _dumper() -> Any:
    import yaml

    class Dumper(yaml.SafeDumper):  # type: ignore[misc]
        pass

    def flow(dumper: Any, data: _Flow) -> Any:
        return dumper.represent_sequence("tag:yaml.org,2002:seq", list(data), flow_style=True)

    Dumper.add_representer(_Flow, flow)
    return Dumper


def logical_type(dtype: Any) -> str:
    """The schema type of an Arrow type (``int32`` -> ``integer``, dictionary -> its values)."""
    import pyarrow.types as t

    if t.is_dictionary(dtype):
        return logical_type(dtype.value_type)
    if t.is_boolean(dtype):
        return "boolean"
    if t.is_integer(dtype):
        return "integer"
    if t.is_floating(dtype) or t.is_decimal(dtype):
        return "float"
    if t.is_string(dtype) or t.is_large_string(dtype) or t.is_string_view(dtype):
        return "string"
    if t.is_timestamp(dtype):
        return "datetime"
    if t.is_date(dtype):
        return "date"
    return "other"


def _logical_from_dtype_name(name: str) -> str:
    """The schema type of an Arrow type's name, as a profile stores it (``timestamp[ns]``)."""
    if name.startswith("dictionary<values="):
        return _logical_from_dtype_name(name[len("dictionary<values=") :].split(",", 1)[0])
    if name.startswith(("int", "uint")):
        return "integer"
    if name in ("halffloat", "float", "double") or name.startswith("decimal"):
        return "float"
    if name in ("string", "large_string", "string_view", "utf8", "large_utf8"):
        return "string"
    if name == "bool":
        return "boolean"
    if name.startswith("timestamp"):
        return "datetime"
    if name.startswith("date"):
        return "date"
    return "other"


def _missing_allowance(rate: float) -> float:
    """A little headroom over the observed missing rate, so the next batch is not flagged."""
    return min(1.0, math.ceil((rate + max(0.01, rate * 0.2)) * 1000) / 1000)


def infer_schema(source: Any, *, max_categories: int = MAX_CATEGORIES) -> DataSchema:
    """A schema from a table (DataFrame, Arrow, path, ``data:/`` URI) or a stored profile."""
    from loopml.data.profiling import DatasetProfile, profile

    prof = source if isinstance(source, DatasetProfile) else profile(source)
    columns: dict[str, ColumnSchema] = {}
    for col in prof.columns.values():
        kind = _logical_from_dtype_name(col.dtype)
        spec = ColumnSchema(name=col.name, type=kind, nullable=col.missing > 0)
        if col.missing:
            spec.max_missing_rate = _missing_allowance(col.missing_rate)
        exact = not col.distinct_approx and col.distinct is not None
        if kind == "string" and exact and 0 < (col.distinct or 0) <= max_categories:
            spec.categories = sorted(v for v, _ in col.top)
        if kind in ("integer", "string") and exact and col.present > 1:
            spec.unique = col.distinct == col.count and col.missing == 0
        has_range = col.min is not None and col.max is not None
        # ids grow: a range on a unique column would flag every new one
        if kind in ("integer", "float") and has_range and not spec.unique:
            assert col.min is not None and col.max is not None
            spec.min, spec.max = _range(col.min, col.max, kind)
        columns[col.name] = spec
    return DataSchema(columns=columns, source=prof.source)


def _range(lo: float, hi: float, kind: str) -> tuple[float, float]:
    """Integers keep their observed bounds (ages, counts, codes); measurements get 10% of
    headroom each side, rounded to 3 significant digits, so that a fresh sample of the same
    distribution does not fail on its new extremes."""
    if kind == "integer":
        return int(lo), int(hi)
    pad = (hi - lo) * 0.1 or abs(hi) * 0.1 or 1.0
    return _round(lo - pad, math.floor), _round(hi + pad, math.ceil)


def _round(value: float, direction: Callable[[float], int]) -> float:
    if value == 0:
        return 0.0
    digits = 2 - math.floor(math.log10(abs(value)))
    scale = 10.0**digits
    return round(direction(round(value * scale, 6)) / scale, digits)  # 1.1 * 100 is 110.00..01
