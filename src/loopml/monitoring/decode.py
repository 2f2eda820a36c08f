"""Payload-log request bodies back into feature columns, fast.

Bodies arrive in every format serving accepts: MLflow scoring JSON (``dataframe_split``,
``dataframe_records``, ``instances``, ``inputs``), CSV, and Open Inference Protocol V2 tensors.
The common bulk case, numeric rows (``dataframe_split`` or ``instances`` of numbers), never
becomes Python objects: the rows of every such body are cut out of the JSON text, joined into
one CSV buffer and parsed by Arrow's multi-threaded CSV reader. Everything else is decoded with
orjson and assembled column by column. A body that cannot be read is counted, not raised:
monitoring reports bad traffic, it does not fail on it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from loopml.monitoring.decode_json import (
    assemble,
    concat,
    csv_columns,
    json_columns,
    positions,
)

__all__ = ["Decoded", "decode_inputs"]

_WHITESPACE = b" \t\r\n"
_ROW_KEYS = (b'"instances"', b'"inputs"')


@dataclass
class Decoded:
    """Feature rows of a set of requests; ``owner[i]`` is the request (payload row) of row i."""

    features: Any  # pyarrow.Table
    owner: Any  # int64 numpy
    position: Any  # int64 numpy: the row's number inside its request
    failed: Counter[str] = field(default_factory=Counter)  # reason -> requests not decoded
    missing: dict[str, int] = field(default_factory=dict)  # expected column -> rows without it
    unexpected: dict[str, int] = field(default_factory=dict)  # column not in the signature

    @property
    def rows(self) -> int:
        return int(self.owner.shape[0])


def decode_inputs(
    bodies: Any,
    protocols: list[str | None] | None = None,
    content_types: list[str | None] | None = None,
    names: list[str] | None = None,
    dtypes: dict[str, str] | None = None,
) -> Decoded:
    """Decode request bodies (a list of bytes/str/None, or an Arrow string column);
    ``names``: the model's input columns (for unnamed tensors); ``dtypes``: their signature
    types (numbers are read as float64, text as dictionary-encoded text)."""
    buf, spans = _spans(bodies)
    fast: dict[tuple[str, ...], list[tuple[int, int, int, bool]]] = {}
    slow: list[tuple[int, dict[str, Any], int]] = []
    failed: Counter[str] = Counter()
    for i, span in enumerate(spans):
        if span is None:
            failed["empty body"] += 1
            continue
        protocol = protocols[i] if protocols else None
        ctype = (content_types[i] if content_types else None) or ""
        try:
            if "csv" in ctype.lower():
                slow.append((i, *csv_columns(buf[span[0] : span[1]])))
                continue
            if protocol != "v2":
                cut = _numeric_rows(buf, span[0], span[1], names)
                if cut is not None:
                    fast.setdefault(cut[0], []).append((i, *cut[1:]))
                    continue
            columns, n = json_columns(orjson.loads(buf[span[0] : span[1]]), protocol, names)
            slow.append((i, columns, n))
        except (orjson.JSONDecodeError, ValueError, TypeError, KeyError) as exc:
            failed[_reason(exc)] += 1
    parts: list[tuple[Any, Any, Any]] = []
    for cols, items in fast.items():
        try:
            parts.append(_parse_fast(buf, cols, items, dtypes or {}))
        except ValueError:  # ragged rows or text in numbers: read these bodies the slow way
            for i, *_ in items:
                a, b = spans[i]  # type: ignore[misc]
                try:
                    columns, n = json_columns(orjson.loads(buf[a:b]), None, names)
                    slow.append((i, columns, n))
                except (orjson.JSONDecodeError, ValueError, TypeError, KeyError) as exc:
                    failed[_reason(exc)] += 1
    if slow:
        parts.append(assemble(sorted(slow, key=lambda item: item[0])))
    return _combine(parts, failed, names)


def _spans(bodies: Any) -> tuple[bytes, list[tuple[int, int] | None]]:
    """All bodies in one buffer and each body's (start, stop) in it (None: no body).

    An Arrow string column is copied once, chunk by chunk, from its data buffers: no Python
    string per body and no intermediate combined array.
    """
    import pyarrow as pa

    if isinstance(bodies, pa.Array):
        bodies = pa.chunked_array([bodies])
    if isinstance(bodies, pa.ChunkedArray):
        pieces: list[Any] = []
        spans: list[tuple[int, int] | None] = []
        base = 0
        for chunk in bodies.chunks:
            large = pa.types.is_large_string(chunk.type) or pa.types.is_large_binary(chunk.type)
            n = len(chunk)
            validity, offsets_buf, data = chunk.buffers()[:3]
            offsets = np.frombuffer(offsets_buf, np.int64 if large else np.int32)
            offsets = offsets[chunk.offset : chunk.offset + n + 1].astype(np.int64)
            first, last = int(offsets[0]), int(offsets[-1])
            if data is not None and last > first:
                pieces.append(memoryview(data)[first:last])
            bounds = (offsets - first + base).tolist()
            valid = (
                [True] * n
                if validity is None
                else chunk.is_valid().to_numpy(zero_copy_only=False).tolist()
            )
            spans.extend((bounds[k], bounds[k + 1]) if valid[k] else None for k in range(n))
            base += last - first
        return b"".join(pieces), spans
    encoded = [
        None if b is None else b.encode() if isinstance(b, str) else bytes(b) for b in bodies
    ]
    spans = []
    at = 0
    for body in encoded:
        if body is None:
            spans.append(None)
        else:
            spans.append((at, at + len(body)))
            at += len(body)
    return b"".join(b for b in encoded if b is not None), spans


def _reason(exc: BaseException) -> str:
    text = str(exc).split("\n", 1)[0]
    return f"{type(exc).__name__}: {text[:120]}"


# -- the fast path: rows of plain values as CSV --------------------------------------------------
def _numeric_rows(
    buf: bytes, lo: int, hi: int, names: list[str] | None
) -> tuple[tuple[str, ...], int, int, bool] | None:
    """(columns, start, stop of the rows, strip whitespace?) of a body whose rows are plain
    values (numbers, null, booleans, unescaped strings), or None if it is anything else."""
    key = buf.find(b'"dataframe_split"', lo, hi)
    if key >= 0:
        start = buf.find(b'"data"', key, hi)
    else:
        start = -1
        for k in _ROW_KEYS:
            start = buf.find(k, lo, hi)
            if start >= 0:
                break
        if names is None:
            return None
    if start < 0:
        return None
    colon = buf.find(b":", start, hi)
    first = buf.find(b"[", colon, hi)
    if colon < 0 or first < 0 or buf[colon + 1 : first].strip(_WHITESPACE):
        return None
    inner = first + 1
    while inner < hi and buf[inner] in _WHITESPACE:
        inner += 1
    if inner >= hi or buf[inner] != ord("["):
        return None
    end = buf.rfind(b"]]", inner, hi)
    if end < 0:
        return None
    seg_lo, seg_hi = inner + 1, end
    if buf.find(b"{", seg_lo, seg_hi) >= 0 or buf.find(b"\\", seg_lo, seg_hi) >= 0:
        return None
    try:
        rest = orjson.loads(buf[lo:first] + b"[]" + buf[end + 2 : hi])
    except orjson.JSONDecodeError:  # "]]" inside a string: not plain rows
        return None
    if key >= 0:
        split = rest.get("dataframe_split") if isinstance(rest, dict) else None
        if not isinstance(split, dict) or len(rest) != 1 or split.get("data") != []:
            return None
        columns = split.get("columns")
        if not isinstance(columns, list):
            return None
        cols = tuple(str(c) for c in columns)
    else:
        if not isinstance(rest, dict) or len(rest) != 1 or next(iter(rest.values())) != []:
            return None
        assert names is not None
        cols = tuple(names)
    spaced = any(buf.find(ch, seg_lo, seg_hi) >= 0 for ch in (b" ", b"\n", b"\t", b"\r"))
    if spaced and buf.find(b'"', seg_lo, seg_hi) >= 0:
        return None  # a space may be inside a string: only orjson can tell
    return cols, seg_lo, seg_hi, spaced


def _parse_fast(
    buf: bytes,
    cols: tuple[str, ...],
    items: list[tuple[int, int, int, bool]],
    dtypes: dict[str, str],
) -> tuple[Any, Any, Any]:
    """One CSV buffer of every body's rows, parsed by Arrow (multi-threaded, no Python values)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    view = memoryview(buf)
    pieces: list[Any] = []
    counts = np.empty(len(items), np.int64)
    for k, (_, lo, hi, spaced) in enumerate(items):
        if spaced:
            piece: Any = bytes(view[lo:hi]).translate(None, _WHITESPACE)
            counts[k] = piece.count(b"],[") + 1
        else:
            piece = view[lo:hi]
            counts[k] = buf.count(b"],[", lo, hi) + 1
        pieces.append(piece)
    owners = np.fromiter((item[0] for item in items), np.int64, len(items))
    buffer = b"\n".join(pieces).replace(b"],[", b"\n")
    names = [f"c{j}" for j in range(len(cols))]  # column names may repeat or be empty
    types = {n: _arrow_type(dtypes.get(c)) for n, c in zip(names, cols, strict=True)}
    try:
        table = pacsv.read_csv(
            pa.py_buffer(buffer),
            read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types={n: t for n, t in types.items() if t is not None},
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ValueError(str(exc)) from None
    if table.num_rows != int(counts.sum()):
        raise ValueError("row count mismatch")
    table = table.rename_columns(list(cols))
    owner = np.repeat(owners, counts)
    return table, owner, positions(counts)


def _arrow_type(dtype: str | None) -> Any:
    """The Arrow type a signature dtype is read as (None: let the CSV reader infer it)."""
    import pyarrow as pa

    if dtype is None:
        return None
    if dtype.startswith(("int", "uint", "float")):
        return pa.float64()
    if dtype == "bool":
        return pa.bool_()
    if dtype in ("str", "category", "object"):
        return pa.dictionary(pa.int32(), pa.string())
    return None


def _combine(
    parts: list[tuple[Any, Any, Any]], failed: Counter[str], names: list[str] | None
) -> Decoded:
    import pyarrow as pa

    if not parts:
        return Decoded(pa.table({}), np.zeros(0, np.int64), np.zeros(0, np.int64), failed)
    tables = [p[0] for p in parts]
    table = tables[0] if len(tables) == 1 else _unify(tables)
    if "__empty" in table.column_names:
        table = table.drop_columns(["__empty"])
    owner = np.concatenate([p[1] for p in parts])
    position = np.concatenate([p[2] for p in parts])
    decoded = Decoded(table, owner, position, failed)
    if names is not None:  # training-serving skew: absent or null features, unknown columns
        rows = decoded.rows
        for name in names:
            nulls = rows if name not in table.column_names else table.column(name).null_count
            if nulls:
                decoded.missing[name] = int(nulls)
        expected = set(names)
        for name in table.column_names:
            if name not in expected:
                decoded.unexpected[name] = rows - int(table.column(name).null_count)
    return decoded


def _unify(tables: list[Any]) -> Any:
    import pyarrow as pa

    names: dict[str, None] = {}
    for t in tables:
        names.update(dict.fromkeys(t.column_names))
    columns = {}
    for name in names:
        chunks = []
        for t in tables:
            if name in t.column_names:
                chunks.extend(t.column(name).chunks)
            else:
                chunks.append(pa.nulls(t.num_rows))
        columns[name] = concat(chunks)
    return pa.table(columns)
