"""The general path of body decoding: orjson, then columns assembled per request.

Used for everything the CSV fast path in ``decode.py`` does not take: records, named columns,
Open Inference Protocol tensors, CSV bodies, text with escapes or spaces. A column a request
lacks is null for its rows; columns of mixed kinds become text.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

__all__ = ["assemble", "concat", "csv_columns", "json_columns", "positions"]


def csv_columns(body: bytes) -> tuple[dict[str, Any], int]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        table = pacsv.read_csv(io.BytesIO(body))
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ValueError(f"CSV body: {exc}") from None
    return {name: table.column(name) for name in table.column_names}, table.num_rows


def json_columns(
    body: Any, protocol: str | None, names: list[str] | None
) -> tuple[dict[str, Any], int]:
    if not isinstance(body, dict):
        raise ValueError("the body is not a JSON object")
    if protocol == "v2" or _looks_v2(body):
        return _v2_columns(body["inputs"], names)
    if "dataframe_split" in body:
        split = body["dataframe_split"]
        cols, data = split["columns"], split["data"]
        if any(len(r) != len(cols) for r in data):
            raise ValueError("dataframe_split rows of unequal length")
        values = list(zip(*data, strict=True)) if data else [()] * len(cols)
        return {str(c): list(v) for c, v in zip(cols, values, strict=True)}, len(data)
    if "dataframe_records" in body:
        return _records(body["dataframe_records"])
    key = "instances" if "instances" in body else "inputs"
    value = body[key]
    if isinstance(value, dict):
        columns = {str(k): list(v) if isinstance(v, list) else [v] for k, v in value.items()}
        return columns, max((len(v) for v in columns.values()), default=0)
    if value and isinstance(value[0], dict):
        return _records(value)
    return _matrix(value, names)


def _looks_v2(body: dict[str, Any]) -> bool:
    inputs = body.get("inputs")
    return (
        isinstance(inputs, list)
        and bool(inputs)
        and isinstance(inputs[0], dict)
        and "datatype" in inputs[0]
    )


def _records(rows: list[dict[str, Any]]) -> tuple[dict[str, Any], int]:
    columns: dict[str, list[Any]] = {}
    for n, row in enumerate(rows):
        for k, v in row.items():
            column = columns.get(k)
            if column is None:
                column = columns[k] = [None] * n
            column.append(v)
        for column in columns.values():
            if len(column) < n + 1:
                column.append(None)
    return columns, len(rows)


def _matrix(rows: Any, names: list[str] | None) -> tuple[dict[str, Any], int]:
    array = np.asarray(rows)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError(f"rows of shape {list(array.shape)} are not a table")
    width = array.shape[1]
    cols = names if names is not None and len(names) == width else [f"x{j}" for j in range(width)]
    return {c: array[:, j] for j, c in enumerate(cols)}, array.shape[0]


def _v2_columns(inputs: list[Any], names: list[str] | None) -> tuple[dict[str, Any], int]:
    tensors = []
    for spec in inputs:
        array = np.asarray(spec["data"]).reshape(spec["shape"])
        tensors.append((str(spec["name"]), array))
    if len(tensors) == 1 and tensors[0][1].ndim == 2 and tensors[0][1].shape[1] != 1:
        return _matrix(tensors[0][1], names)
    columns = {}
    rows = 0
    for name, array in tensors:
        flat = array.reshape(array.shape[0], -1)[:, 0] if array.ndim > 1 else array
        columns[name] = flat
        rows = max(rows, int(flat.shape[0]))
    return columns, rows


def assemble(items: list[tuple[int, dict[str, Any], int]]) -> tuple[Any, Any, Any]:
    """One table from per-request columns; a column a request lacks is null for its rows."""
    import pyarrow as pa

    order: dict[str, None] = {}
    for _, columns, _ in items:
        order.update(dict.fromkeys(columns))
    counts = np.asarray([n for _, _, n in items], dtype=np.int64)
    arrays = {}
    for name in order:
        chunks = []
        for _, columns, n in items:
            value = columns.get(name)
            chunks.append(pa.nulls(n) if value is None else _arrow(value, n))
        arrays[name] = concat(chunks)
    owners = np.asarray([i for i, _, _ in items], dtype=np.int64)
    table = pa.table(arrays) if arrays else pa.table({"__empty": pa.nulls(int(counts.sum()))})
    return table, np.repeat(owners, counts), positions(counts)


def _arrow(value: Any, n: int) -> Any:
    import pyarrow as pa

    if isinstance(value, pa.ChunkedArray):
        value = value.combine_chunks()
    if not isinstance(value, pa.Array):
        try:
            value = pa.array(value, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed kinds: keep it as text
            value = pa.array([None if v is None else str(v) for v in list(value)], pa.string())
    if len(value) < n:
        value = pa.concat_arrays([value, pa.nulls(n - len(value), value.type)])
    return value[:n]


def concat(chunks: list[Any]) -> Any:
    import pyarrow as pa

    kinds = {c.type for c in chunks if not pa.types.is_null(c.type)}
    if not kinds:
        return pa.chunked_array(chunks, pa.null())
    if len(kinds) == 1:
        target = next(iter(kinds))
    elif all(
        pa.types.is_integer(k) or pa.types.is_floating(k) or pa.types.is_boolean(k) for k in kinds
    ):
        target = pa.float64()
    else:
        target = pa.string()
    return pa.chunked_array([c.cast(target) for c in chunks], target)


def positions(counts: Any) -> Any:
    total = int(counts.sum())
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total, dtype=np.int64) - starts
