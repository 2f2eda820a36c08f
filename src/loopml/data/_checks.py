"""The built-in checks behind :func:`loopml.data.validate`, each one vectorised pass.

Every check looks at whole Arrow columns (``pyarrow.compute``), never at rows in Python. A
column whose type is wrong gets one ``type_mismatch`` anomaly and no value checks: once the type
is wrong, "out of range" would only repeat it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from loopml.data._source import Loaded
from loopml.data.schema import ColumnSchema, DataSchema, logical_type
from loopml.data.validation import Anomaly, Check
from loopml.errors import InvalidParameterError

__all__ = ["custom_anomalies", "schema_anomalies"]

EXAMPLES = 5


def schema_anomalies(loaded: Loaded, schema: DataSchema) -> Iterator[Anomaly]:
    table = loaded.table
    present = set(table.column_names)
    if schema.min_rows is not None and table.num_rows < schema.min_rows:
        yield Anomaly(
            None,
            "too_few_rows",
            "error",
            f"{table.num_rows:,} rows, expected at least {schema.min_rows:,}",
            table.num_rows,
            schema.min_rows,
        )
    for name, spec in schema.columns.items():
        if name not in present:
            yield Anomaly(name, "missing_column", "error", "column is missing", None, spec.type)
            continue
        if name in loaded.mixed:
            types = loaded.mixed[name]
            yield Anomaly(
                name,
                "mixed_types",
                "error",
                f"column mixes value types ({', '.join(types)}); expected {spec.type}",
                types,
                spec.type,
            )
            continue
        yield from _column_anomalies(table.column(name), spec, table.num_rows)
    if schema.extra_columns != "allow":
        severity: Any = "error" if schema.extra_columns == "error" else "warning"
        for name in table.column_names:
            if name not in schema.columns:
                dtype = str(table.schema.field(name).type)
                yield Anomaly(
                    name, "unexpected_column", severity, "column is not in the schema", dtype
                )
    keys = [k for k in schema.keys if k in present]
    if len(keys) == 1 and schema.columns[keys[0]].unique:
        keys = []  # already reported by the column's own uniqueness check
    if keys and len(keys) == len(schema.keys):
        yield from _duplicate_keys(table, keys)


def _column_anomalies(column: Any, spec: ColumnSchema, rows: int) -> Iterator[Anomaly]:
    import pyarrow.compute as pc

    name = spec.name
    observed = logical_type(column.type)
    missing = int(column.null_count)
    if observed == "float":  # NaN and infinities are missing, as in profiles and drift
        missing += int(pc.sum(pc.invert(pc.is_finite(column))).as_py() or 0)
    if missing and not spec.nullable:
        yield Anomaly(
            name,
            "missing_values",
            "error",
            f"{missing:,} missing values in a column that is not nullable",
            missing,
            0,
        )
    rate = missing / rows if rows else 0.0
    if spec.max_missing_rate is not None and rate > spec.max_missing_rate:
        yield Anomaly(
            name,
            "missing_rate",
            "error",
            f"missing rate {rate:.2%} is above {spec.max_missing_rate:.2%}",
            round(rate, 6),
            spec.max_missing_rate,
        )
    mismatch = _type_anomaly(column, spec, observed)
    if mismatch is not None:
        yield mismatch
        if mismatch.severity == "error":
            return
    if spec.min is not None or spec.max is not None:
        yield from _range(column, spec)
    if spec.categories is not None:
        yield from _categories(column, spec)
    if spec.unique:
        yield from _duplicate_values(column, spec)


def _type_anomaly(column: Any, spec: ColumnSchema, observed: str) -> Anomaly | None:
    import pyarrow.compute as pc

    expected = spec.type
    if observed == expected or expected == "other" or (expected, observed) == ("float", "integer"):
        return None
    dtype = str(column.type)
    if (expected, observed) == ("integer", "float"):
        values = pc.drop_null(column)
        if len(values) == 0 or pc.all(pc.equal(values, pc.floor(values))).as_py() is not False:
            return Anomaly(
                spec.name,
                "type_mismatch",
                "warning",
                f"whole numbers stored as {dtype} (missing values in pandas?); expected integer",
                dtype,
                expected,
            )
    return Anomaly(
        spec.name,
        "type_mismatch",
        "error",
        f"type is {dtype}, expected {expected}",
        dtype,
        expected,
    )


def _range(column: Any, spec: ColumnSchema) -> Iterator[Anomaly]:
    import pyarrow as pa
    import pyarrow.compute as pc

    values = pc.drop_null(column)
    if pa.types.is_floating(values.type):
        values = values.filter(pc.is_finite(values))
    if len(values) == 0:
        return
    checks = []
    if spec.min is not None:
        checks.append(pc.less(values, spec.min))
    if spec.max is not None:
        checks.append(pc.greater(values, spec.max))
    outside = checks[0] if len(checks) == 1 else pc.or_(checks[0], checks[1])
    count = int(pc.sum(outside).as_py() or 0)
    if count:
        bounds = pc.min_max(values)
        lo, hi = bounds["min"].as_py(), bounds["max"].as_py()
        yield Anomaly(
            spec.name,
            "out_of_range",
            "error",
            f"{count:,} values outside [{_fmt(spec.min)}, {_fmt(spec.max)}] "
            f"(observed {lo} to {hi})",
            {"min": lo, "max": hi, "count": count},
            {"min": spec.min, "max": spec.max},
        )


def _fmt(value: float | None) -> str:
    return "-inf" if value is None else f"{value:g}"


def _categories(column: Any, spec: ColumnSchema) -> Iterator[Anomaly]:
    import pyarrow as pa
    import pyarrow.compute as pc

    assert spec.categories is not None
    values = pc.drop_null(column)
    if pa.types.is_dictionary(values.type):
        values = pc.cast(values, values.type.value_type)
    try:
        allowed = pa.array(spec.categories).cast(values.type)
    except (pa.ArrowException, TypeError, ValueError):
        values = pc.cast(values, pa.string())
        allowed = pa.array([str(c) for c in spec.categories], pa.string())
    unseen = values.filter(pc.invert(pc.is_in(values, value_set=allowed)))
    if len(unseen):
        tally = pc.value_counts(unseen)
        counts = tally.field("counts").to_numpy(zero_copy_only=False)
        order = counts.argsort()[::-1][:EXAMPLES]
        examples = tally.field("values").take(pa.array(order)).to_pylist()
        shown = ", ".join(repr(v) for v in examples)
        more = len(tally) - len(examples)
        yield Anomaly(
            spec.name,
            "unseen_category",
            "error",
            f"{len(unseen):,} values in {len(tally):,} categories not in the schema: {shown}"
            + (f" and {more} more" if more > 0 else ""),
            examples,
            spec.categories,
        )


def _duplicate_values(column: Any, spec: ColumnSchema) -> Iterator[Anomaly]:
    import pyarrow.compute as pc

    values = pc.drop_null(column)
    duplicates = len(values) - int(pc.count_distinct(values).as_py())
    if duplicates:
        yield Anomaly(
            spec.name,
            "duplicate_keys",
            "error",
            f"{duplicates:,} duplicate values in a unique column",
            duplicates,
            0,
        )


def _duplicate_keys(table: Any, keys: list[str]) -> Iterator[Anomaly]:
    import pyarrow.compute as pc

    groups = table.select(keys).group_by(keys).aggregate([([], "count_all")])
    repeated = groups.filter(pc.greater(groups["count_all"], 1))
    if repeated.num_rows:
        extra = int(pc.sum(repeated["count_all"]).as_py()) - repeated.num_rows
        examples = repeated.select(keys).slice(0, EXAMPLES).to_pylist()
        yield Anomaly(
            ", ".join(keys),
            "duplicate_keys",
            "error",
            f"{repeated.num_rows:,} key values occur more than once ({extra:,} extra rows), "
            f"e.g. {examples[0]}",
            examples,
            "unique",
        )


# -- custom checks -----------------------------------------------------------------------------
def custom_anomalies(loaded: Loaded, checks: list[tuple[str, Check]]) -> Iterator[Anomaly]:
    frame = loaded.table.to_pandas()
    for name, check in checks:
        try:
            result = check(frame)
        except Exception as exc:  # a failing check is a finding, not a crash of validate()
            yield Anomaly(
                None, "custom", "error", f"check {name!r} raised {type(exc).__name__}: {exc}"
            )
            continue
        yield from _interpret(name, result)


def _interpret(name: str, result: Any) -> Iterator[Anomaly]:
    if result is None or result is True or (_is_bool(result) and bool(result)):
        return
    if result is False or _is_bool(result):
        yield Anomaly(None, "custom", "error", f"check {name!r} failed")
    elif isinstance(result, str):
        if result:
            yield Anomaly(None, "custom", "error", f"{name}: {result}")
    elif isinstance(result, Anomaly):
        yield result
    elif isinstance(result, list | tuple):
        for item in result:
            yield from _interpret(name, item)
    else:
        raise InvalidParameterError(
            f"check {name!r} returned a {type(result).__name__}; return True/False, a message, "
            "an Anomaly or a list of them"
        )


def _is_bool(value: Any) -> bool:
    return type(value).__name__ in ("bool", "bool_")
