"""Any table a user hands to profile, validate or drift, as one ``pyarrow.Table``.

A source is a pandas DataFrame, a ``pyarrow.Table``, a Parquet/CSV path (file or folder of
Parquet parts) or a ``data:/name@version`` URI. Everything downstream works on Arrow columns so
that statistics run in vectorised code (numpy, pyarrow compute, DuckDB), never row by row.

A pandas ``object`` column holding values of several types (``1``, ``"two"``, ``3.0``) cannot
become an Arrow column: it is named, with the types found, either in an error (profile, drift)
or in ``mixed`` for validation to report as an anomaly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from loopml.errors import InvalidParameterError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["Loaded", "ParquetColumns", "column_kind", "label_of", "load", "numeric_values"]

Kind = Literal["numeric", "categorical", "datetime", "other"]


@dataclass
class Loaded:
    """A source as an Arrow table, what to call it in messages, and its mixed-type columns."""

    table: pa.Table
    label: str
    mixed: dict[str, list[str]] = field(default_factory=dict)


def label_of(source: Any, role: str = "") -> str:
    """What to call a source in messages: its path, or e.g. "the reference DataFrame"."""
    if isinstance(source, str | os.PathLike):
        return os.fspath(source)
    return " ".join(("the", *([role] if role else []), type(source).__name__))


def load(
    source: Any,
    *,
    columns: list[str] | None = None,
    on_mixed: Literal["raise", "collect"] = "raise",
    role: str = "",
    strings_as_dictionary: bool = False,
    lazy: bool = False,
) -> Loaded:
    """``source`` as Arrow; files, ``data:/`` URIs and version records go through
    :func:`loopml.data.read_table`, except one local Parquet file, read directly (below).

    ``strings_as_dictionary`` keeps Parquet's dictionary-encoded strings encoded: counting
    categories then counts small integers instead of hashing strings. ``lazy`` makes a local
    Parquet file a :class:`ParquetColumns` that reads each column when asked (drift reads,
    reduces and drops one column at a time instead of holding both tables).
    """
    import pyarrow as pa

    label = label_of(source, role)
    if isinstance(source, pa.Table):
        table = source.select(columns) if columns else source
        return Loaded(table, label)
    if isinstance(source, pa.RecordBatch):
        return Loaded(pa.Table.from_batches([source]), label)
    if _is_parquet_file(source):
        path = os.fspath(source)
        if lazy:
            return Loaded(ParquetColumns(path, columns, strings_as_dictionary), label)
        return Loaded(_read_parquet(path, columns, strings_as_dictionary), label)
    if isinstance(source, str | os.PathLike) or type(source).__name__ == "DatasetVersion":
        from loopml.data.tables import read_table

        label = getattr(source, "uri", label)
        return Loaded(read_table(source, as_arrow=True, columns=columns), label)
    if _is_dataframe(source):
        frame = source[columns] if columns else source
        return _from_pandas(frame, label, on_mixed)
    raise InvalidParameterError(
        f"cannot read a {type(source).__name__} as a table: pass a pandas DataFrame, a "
        "pyarrow Table, a Parquet/CSV path or a data:/ URI"
    )


PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")


def _is_parquet_file(source: Any) -> bool:
    if not isinstance(source, str | os.PathLike):
        return False
    path = os.fspath(source)
    return (
        isinstance(path, str)
        and not path.startswith("data:/")
        and path.lower().endswith(PARQUET_SUFFIXES)
        and os.path.isfile(path)  # noqa: PTH113 (a str path)
    )


def _bad_parquet(path: str, exc: Exception) -> InvalidParameterError:
    return InvalidParameterError(
        f"{path} is not a readable Parquet file: {exc}", path=path, format="parquet"
    )


def _strings(schema: pa.Schema) -> list[str]:
    import pyarrow as pa

    return [
        f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
    ]


def _read_parquet(path: str, columns: list[str] | None, dictionary: bool) -> pa.Table:
    """One Parquet file through ``ParquetFile``: unlike ``pq.read_table`` it does not import
    ``pyarrow.dataset`` (and with it pandas)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        strings = _strings(pq.read_schema(path)) if dictionary else []
        with pq.ParquetFile(path, read_dictionary=strings or None) as file:
            return file.read(columns=columns, use_threads=True)
    except (OSError, ValueError, KeyError, pa.ArrowException) as exc:
        raise _bad_parquet(path, exc) from None


class ParquetColumns:
    """A Parquet file that looks like a table but reads a column only when asked for it."""

    def __init__(self, path: str, columns: list[str] | None, dictionary: bool) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.path = path
        try:
            meta = pq.read_metadata(path)
            schema = meta.schema.to_arrow_schema()
        except (OSError, ValueError, pa.ArrowException) as exc:
            raise _bad_parquet(path, exc) from None
        missing = [c for c in columns or () if c not in schema.names]
        if missing:
            raise InvalidParameterError(f"column {missing[0]!r} is not in {path}", path=path)
        self.schema = pa.schema([schema.field(c) for c in columns]) if columns else schema
        self.num_rows = int(meta.num_rows)
        self.column_names: list[str] = list(self.schema.names)
        self._dictionary = set(_strings(self.schema)) if dictionary else set()

    def column(self, name: str) -> pa.ChunkedArray:
        import pyarrow as pa
        import pyarrow.parquet as pq

        wanted = [name] if name in self._dictionary else None
        try:
            with pq.ParquetFile(self.path, read_dictionary=wanted) as file:
                return file.read(columns=[name], use_threads=False).column(0)
        except (OSError, ValueError, KeyError, pa.ArrowException) as exc:
            raise _bad_parquet(self.path, exc) from None


def _is_dataframe(obj: Any) -> bool:
    return type(obj).__name__ == "DataFrame" and hasattr(obj, "columns") and hasattr(obj, "dtypes")


def _from_pandas(frame: Any, label: str, on_mixed: str) -> Loaded:
    import pyarrow as pa

    try:
        return Loaded(pa.Table.from_pandas(frame, preserve_index=False), label)
    except (pa.ArrowException, TypeError, ValueError):
        pass  # find the column(s) to blame, below
    arrays: list[pa.Array | pa.ChunkedArray] = []
    mixed: dict[str, list[str]] = {}
    for name in frame.columns:
        series = frame[name]
        try:
            arrays.append(pa.array(series, from_pandas=True))
        except (pa.ArrowException, TypeError, ValueError):
            types = sorted({type(v).__name__ for v in series.dropna().unique()})
            mixed[str(name)] = types
            arrays.append(pa.array(series.astype("string"), from_pandas=True))
    if mixed and on_mixed == "raise":
        name, types = next(iter(mixed.items()))
        raise InvalidParameterError(
            f"column {name!r} of {label} mixes types ({', '.join(types)}); "
            "cast it to one type first",
            column=name,
            types=types,
        )
    return Loaded(pa.table(arrays, names=[str(c) for c in frame.columns]), label, mixed)


def column_kind(dtype: pa.DataType) -> Kind:
    """How statistics treat a column: numbers, categories (strings, booleans), or times."""
    import pyarrow.types as t

    if t.is_dictionary(dtype):
        return "categorical"
    if t.is_boolean(dtype) or t.is_string(dtype) or t.is_large_string(dtype):
        return "categorical"
    if t.is_string_view(dtype):
        return "categorical"
    if t.is_integer(dtype) or t.is_floating(dtype) or t.is_decimal(dtype):
        return "numeric"
    if t.is_timestamp(dtype) or t.is_date(dtype) or t.is_duration(dtype) or t.is_time(dtype):
        return "datetime"
    return "other"


def numeric_values(column: pa.ChunkedArray | pa.Array) -> Any:
    """The finite values of a numeric or time column as float64 numpy.

    NaN and infinities count as missing: one ``inf`` would make every mean, std and distance
    infinite, which says nothing about the rest of the column.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    dtype = column.type
    if column_kind(dtype) == "datetime":  # dates and times as their integer counts
        column = pc.cast(column, pa.int32() if dtype.bit_width == 32 else pa.int64())
    elif pa.types.is_decimal(dtype):
        column = pc.cast(column, pa.float64())
    if column.null_count:
        column = pc.drop_null(column)
    if isinstance(column, pa.ChunkedArray):
        values = column.to_numpy()
    else:
        values = column.to_numpy(zero_copy_only=False)
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    return values if finite.all() else values[finite]
