"""Artifact paths and the ways a value becomes an artifact file (text, JSON, figure, table).

Paths are relative, POSIX, inside the run: ``..``, absolute paths and NUL bytes are refused so a
download can never write outside the folder a user chose.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

import orjson

from loopml.errors import InvalidParameterError, NotFoundError
from loopml.store.metadata.entities import ArtifactRecord

_DRIVE = re.compile(r"^[A-Za-z]:")


def clean_artifact_path(path: str, *, allow_root: bool = False) -> str:
    """Normalise ``path``; ``INVALID_PARAMETER`` if it could escape the run's artifact root."""
    if not isinstance(path, str):
        raise InvalidParameterError(f"an artifact path must be a string, got {path!r}")
    if "\x00" in path:
        raise InvalidParameterError(f"artifact path {path!r} contains a NUL byte", path=path)
    if path.startswith(("/", "\\")) or _DRIVE.match(path):
        raise InvalidParameterError(
            f"artifact path {path!r} is absolute; use a path relative to the run, e.g. 'plots/roc.png'",
            path=path,
        )
    parts = path.replace("\\", "/").split("/")
    if ".." in parts:
        raise InvalidParameterError(f"artifact path {path!r} contains '..'", path=path)
    cleaned = posixpath.normpath("/".join(p for p in parts if p not in ("", "."))) if path else ""
    cleaned = "" if cleaned == "." else cleaned
    if not cleaned and not allow_root:
        raise InvalidParameterError("an artifact path must not be empty")
    return cleaned


def join(artifact_path: str | None, name: str) -> str:
    base = clean_artifact_path(artifact_path, allow_root=True) if artifact_path else ""
    return clean_artifact_path(f"{base}/{name}" if base else name)


def find(records: list[ArtifactRecord], path: str, run_id: str) -> tuple[ArtifactRecord, str]:
    """The record holding ``path`` and the path inside it ("" when the record is the path).

    A name without its extension resolves when exactly one artifact matches it, so
    ``runs:/<id>/predictions`` finds what ``log_table(df, "predictions")`` wrote.
    """
    for rec in records:
        if rec.path == path:
            return rec, ""
        if rec.kind == "dir" and path.startswith(rec.path + "/"):
            return rec, path[len(rec.path) + 1 :]
    stem_matches = [r for r in records if posixpath.splitext(r.path)[0] == path]
    if len(stem_matches) == 1:
        return stem_matches[0], ""
    raise NotFoundError(
        f"run {run_id} has no artifact {path!r}; see `loopml artifacts ls runs:/{run_id}/`",
        run_id=run_id,
        path=path,
    )


def text_bytes(text: str) -> bytes:
    return text.encode("utf-8")


def dict_bytes(data: Any) -> bytes:
    try:
        return orjson.dumps(
            data,
            option=orjson.OPT_INDENT_2
            | orjson.OPT_SORT_KEYS
            | orjson.OPT_SERIALIZE_NUMPY
            | orjson.OPT_NON_STR_KEYS,
        )
    except TypeError as exc:
        raise InvalidParameterError(f"cannot write this value as JSON: {exc}") from exc


def figure_bytes(figure: Any, fmt: str = "png") -> bytes:
    import io

    if not hasattr(figure, "savefig"):
        raise InvalidParameterError(
            f"log_figure takes a matplotlib Figure, got {type(figure).__name__}"
        )
    buf = io.BytesIO()
    figure.savefig(buf, format=fmt, bbox_inches="tight")
    return buf.getvalue()


def table_bytes(table: Any) -> bytes:
    """A pandas DataFrame (or pyarrow Table) as Parquet bytes."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    if isinstance(table, pa.Table):
        arrow = table
    elif hasattr(table, "to_parquet"):
        buf = io.BytesIO()
        table.to_parquet(buf, index=False)
        return buf.getvalue()
    else:
        raise InvalidParameterError(
            f"log_table takes a pandas DataFrame or a pyarrow Table, got {type(table).__name__}"
        )
    buf = io.BytesIO()
    pq.write_table(arrow, buf)
    return buf.getvalue()
