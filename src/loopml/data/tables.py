"""Tables inside datasets: what a version holds (cheaply, from file metadata) and reading it back.

A dataset is a table when it is one Parquet or CSV file, or a folder of Parquet parts (files
whose name starts with ``_`` or ``.``, such as ``_SUCCESS``, are ignored). Parquet row counts and
schemas come from the footers, without reading the data; a CSV is streamed once.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from loopml.errors import InvalidParameterError, LoopmlError

if TYPE_CHECKING:
    from loopml.store.metadata.data_entities import DatasetVersion

__all__ = ["TableInfo", "read_table", "table_files", "table_info"]

PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
CSV_SUFFIXES = (".csv",)

TableInfo = tuple[str, int, list[dict[str, Any]]]  # (format, rows, schema)


def _format_of(name: str) -> str | None:
    lower = name.lower()
    if lower.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if lower.endswith(CSV_SUFFIXES):
        return "csv"
    return None


def table_files(layout: str, paths: Sequence[str]) -> tuple[str, list[str]] | None:
    """The format and the files that make the table, or None if ``paths`` are not a table."""
    if layout == "file":
        fmt = _format_of(paths[0]) if len(paths) == 1 else None
        return (fmt, list(paths)) if fmt else None
    parts = [p for p in paths if not p.rsplit("/", 1)[-1].startswith(("_", "."))]
    if parts and all(_format_of(p) == "parquet" for p in parts):
        return "parquet", sorted(parts)
    return None


def schema_of(schema: Any) -> list[dict[str, Any]]:
    """An Arrow schema as plain JSON: the form stored with a version and compared by diff."""
    return [{"name": f.name, "type": str(f.type), "nullable": bool(f.nullable)} for f in schema]


def _bad_file(name: str, fmt: str, exc: Exception) -> InvalidParameterError:
    what = "Parquet" if fmt == "parquet" else "CSV"
    return InvalidParameterError(
        f"{name} is not a readable {what} file: {exc}", path=name, format=fmt
    )


def table_info(root: Path, layout: str, paths: Sequence[str]) -> TableInfo | None:
    """Row count and schema of the table at ``root`` (a file, or a folder holding ``paths``)."""
    found = table_files(layout, paths)
    if found is None:
        return None
    fmt, files = found
    disk = [root] if layout == "file" else [root.joinpath(*p.split("/")) for p in files]
    if fmt == "csv":
        return fmt, *_csv_info(disk[0])
    import pyarrow.parquet as pq

    rows = 0
    schema: list[dict[str, Any]] | None = None
    for file in disk:
        try:
            meta = pq.read_metadata(file)
            rows += meta.num_rows
            if schema is None:
                schema = schema_of(meta.schema.to_arrow_schema())
        except (OSError, ValueError) as exc:  # ArrowInvalid is a ValueError
            raise _bad_file(str(file), fmt, exc) from None
    return fmt, rows, schema or []


def _csv_info(file: Path) -> tuple[int, list[dict[str, Any]]]:
    import pyarrow as pa
    from pyarrow import csv

    rows = 0
    try:
        with csv.open_csv(file) as reader:
            schema = reader.schema
            for batch in reader:
                rows += batch.num_rows
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise _bad_file(str(file), "csv", exc) from None
    return rows, schema_of(schema)


def read_table(
    source: str | os.PathLike[str] | DatasetVersion,
    *,
    as_arrow: bool = False,
    columns: Sequence[str] | None = None,
) -> Any:
    """A dataset version (``data:/customers@latest``, a version record) or a file as a table.

    Returns a pandas DataFrame, or a ``pyarrow.Table`` with ``as_arrow=True``. A folder of
    Parquet parts is read as one table.
    """
    from loopml.store.metadata.data_entities import DatasetVersion

    if isinstance(source, DatasetVersion) or (
        isinstance(source, str) and source.startswith("data:/")
    ):
        table = _read_version(source, columns)
    else:
        table = _read_path(Path(source), columns)
    return table if as_arrow else table.to_pandas()


def _read_one(fmt: str, handle: str | BinaryIO, name: str, columns: Sequence[str] | None) -> Any:
    import pyarrow as pa

    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return pq.read_table(handle, columns=list(columns) if columns else None)
        from pyarrow import csv

        options = csv.ConvertOptions(include_columns=list(columns)) if columns else None
        return csv.read_csv(handle, convert_options=options)
    except (OSError, ValueError, KeyError, pa.ArrowException) as exc:
        if isinstance(exc, LoopmlError):
            raise
        raise _bad_file(name, fmt, exc) from None


def _concat(tables: list[Any]) -> Any:
    import pyarrow as pa

    if len(tables) == 1:
        return tables[0]
    return pa.concat_tables(tables, promote_options="default")


def _read_version(source: str | DatasetVersion, columns: Sequence[str] | None) -> Any:
    from loopml.data import _stores
    from loopml.data.versions import resolve

    version = resolve(source)
    objects = _stores.object_store()
    manifest = objects.read_manifest(version.manifest_hash)
    found = table_files(version.layout, sorted(manifest.entries))
    if found is None:
        raise InvalidParameterError(
            f"{version.uri} is not a table: read_table reads one Parquet or CSV file, or a "
            "folder of Parquet files; use `loopml data checkout` for other files",
            uri=version.uri,
        )
    fmt, files = found
    tables = []
    for rel in files:
        with objects.open(manifest.entries[rel].hash) as fh:
            # Parquet seeks to its footer; a streamed body (from a server) is read whole.
            handle: Any = fh if _seekable(fh) else _buffer(fh.read())
            tables.append(_read_one(fmt, handle, f"{rel} of {version.uri}", columns))
    return _concat(tables)


def _seekable(fh: Any) -> bool:
    try:
        return bool(fh.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def _buffer(data: bytes) -> Any:
    import pyarrow as pa

    return pa.BufferReader(data)


def _read_path(path: Path, columns: Sequence[str] | None) -> Any:
    from loopml.data.hashing import scan

    layout, files = scan(path)
    found = table_files(layout, [f.rel for f in files])
    if found is None:
        raise InvalidParameterError(
            f"{path} is not a table: expected a Parquet or CSV file, or a folder of Parquet files",
            path=str(path),
        )
    fmt, rels = found
    disk = [path] if layout == "file" else [path.joinpath(*r.split("/")) for r in rels]
    return _concat([_read_one(fmt, str(p), str(p), columns) for p in disk])
