"""Reading a schema YAML strictly: every problem names the file, the line and the key.

PyYAML's node tree keeps the line of every key, so we check the tree (not the plain dict) and
point at ``schemas/customers.yaml:14: unknown key 'nulable' in column 'age' (did you mean
'nullable'?)``.
"""

from __future__ import annotations

import difflib
from typing import Any

from loopml.data.schema import EXTRA_COLUMNS, TYPES, ColumnSchema, DataSchema
from loopml.errors import InvalidParameterError

__all__ = ["parse_schema"]

TOP_KEYS = ("loopml_schema", "min_rows", "keys", "extra_columns", "columns")
COLUMN_KEYS = ("type", "nullable", "unique", "min", "max", "categories", "max_missing_rate")


class _Where:
    def __init__(self, name: str) -> None:
        self.name = name

    def error(self, node: Any, message: str, **details: Any) -> InvalidParameterError:
        line = node.start_mark.line + 1 if node is not None else None
        place = f"{self.name}:{line}" if line else self.name
        return InvalidParameterError(f"{place}: {message}", path=self.name, line=line, **details)


def _suggest(key: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else f"; known keys: {', '.join(known)}"


def _mapping(where: _Where, node: Any, what: str) -> list[tuple[Any, Any]]:
    import yaml

    if not isinstance(node, yaml.MappingNode):
        raise where.error(node, f"{what} must be a mapping of keys to values")
    return list(node.value)


def _construct(node: Any) -> Any:
    import yaml

    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def _number(where: _Where, node: Any, key: str, context: str) -> float:
    value = _construct(node)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise where.error(node, f"{key!r}{context} must be a number, got {value!r}", key=key)
    return value


def _bool(where: _Where, node: Any, key: str, context: str) -> bool:
    value = _construct(node)
    if not isinstance(value, bool):
        raise where.error(node, f"{key!r}{context} must be true or false, got {value!r}", key=key)
    return value


def _column(where: _Where, name: str, node: Any) -> ColumnSchema:
    context = f" of column {name!r}"
    spec: dict[str, Any] = {}
    type_node = None
    for key_node, value_node in _mapping(where, node, f"column {name!r}"):
        key = str(key_node.value)
        if key not in COLUMN_KEYS:
            raise where.error(
                key_node,
                f"unknown key {key!r} in column {name!r}{_suggest(key, COLUMN_KEYS)}",
                key=key,
                column=name,
            )
        if key == "type":
            type_node = key_node
            value = _construct(value_node)
            if value not in TYPES:
                hint = _suggest(str(value), TYPES) if isinstance(value, str) else ""
                raise where.error(
                    value_node,
                    f"type{context} is {value!r}; use one of {', '.join(TYPES)}"
                    + (hint if hint.startswith(" (") else ""),
                    key=key,
                    column=name,
                )
            spec["type"] = value
        elif key in ("nullable", "unique"):
            spec[key] = _bool(where, value_node, key, context)
        elif key in ("min", "max"):
            spec[key] = _number(where, value_node, key, context)
        elif key == "max_missing_rate":
            rate = _number(where, value_node, key, context)
            if not 0 <= rate <= 1:
                raise where.error(value_node, f"max_missing_rate{context} must be in [0, 1]")
            spec[key] = float(rate)
        else:  # categories
            values = _construct(value_node)
            if not isinstance(values, list):
                raise where.error(value_node, f"categories{context} must be a list of values")
            spec[key] = values
    if "type" not in spec:
        raise where.error(type_node or node, f"column {name!r} has no 'type'", column=name)
    if spec.get("min") is not None and spec.get("max") is not None and spec["min"] > spec["max"]:
        raise where.error(node, f"min is above max{context}", column=name)
    return ColumnSchema(name=name, **spec)


def parse_schema(text: str, name: str) -> DataSchema:
    import yaml

    where = _Where(name)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise InvalidParameterError(
            f"{name}:{line}: not valid YAML: {exc.problem}", path=name, line=line
        ) from None
    except yaml.YAMLError as exc:
        raise InvalidParameterError(f"{name}: not valid YAML: {exc}", path=name) from None
    if root is None:
        raise InvalidParameterError(f"{name}: the schema file is empty", path=name)
    schema = DataSchema(columns={}, source=name)
    seen_columns = False
    for key_node, value_node in _mapping(where, root, "the schema"):
        key = str(key_node.value)
        if key not in TOP_KEYS:
            raise where.error(key_node, f"unknown key {key!r}{_suggest(key, TOP_KEYS)}", key=key)
        if key == "loopml_schema":
            version = _construct(value_node)
            if version != 1:
                raise where.error(value_node, f"unsupported schema format {version!r} (use 1)")
        elif key == "min_rows":
            rows = _construct(value_node)
            if rows is not None and (
                isinstance(rows, bool) or not isinstance(rows, int) or rows < 0
            ):
                raise where.error(value_node, f"min_rows must be a whole number, got {rows!r}")
            schema.min_rows = rows
        elif key == "keys":
            keys = _construct(value_node)
            if isinstance(keys, str):
                keys = [keys]
            if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
                raise where.error(value_node, "keys must be a list of column names")
            schema.keys = keys
        elif key == "extra_columns":
            mode = _construct(value_node)
            if mode not in EXTRA_COLUMNS:
                raise where.error(
                    value_node, f"extra_columns must be one of {', '.join(EXTRA_COLUMNS)}"
                )
            schema.extra_columns = mode
        else:
            seen_columns = True
            for col_key, col_node in _mapping(where, value_node, "columns"):
                col_name = str(col_key.value)
                if col_name in schema.columns:
                    raise where.error(col_key, f"column {col_name!r} is listed twice")
                schema.columns[col_name] = _column(where, col_name, col_node)
    if not seen_columns:
        raise where.error(root, "the schema has no 'columns' section")
    missing = [k for k in schema.keys if k not in schema.columns]
    if missing:
        raise where.error(root, f"key column {missing[0]!r} is not among the columns")
    return schema
