"""Plain records of dataset versions and run inputs; the same for every store implementation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["DatasetSummary", "DatasetVersion", "RunInput"]


@dataclass(frozen=True, slots=True)
class DatasetVersion:
    """One immutable version of a dataset: a manifest of content hashes plus what it holds."""

    name: str
    version: int
    manifest_hash: str
    layout: str  # "file" (one file) or "folder"
    file_count: int
    size: int
    created_ms: int
    message: str | None = None
    author: str | None = None
    git_commit: str | None = None
    source_path: str | None = None
    table_format: str | None = None  # "parquet", "csv", or None when not a table
    num_rows: int | None = None
    table_schema: list[dict[str, Any]] | None = None  # [{"name", "type", "nullable"}]
    profile: dict[str, Any] | None = None

    @property
    def uri(self) -> str:
        return f"data:/{self.name}/{self.version}"

    @property
    def is_table(self) -> bool:
        return self.table_format is not None

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> DatasetVersion:
        """The inverse of :meth:`to_dict` (extra keys, such as ``uri``, are ignored)."""
        return cls(**{name: body.get(name) for name in cls.__slots__})  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "uri": self.uri,
            "manifest_hash": self.manifest_hash,
            "layout": self.layout,
            "file_count": self.file_count,
            "size": self.size,
            "created_ms": self.created_ms,
            "message": self.message,
            "author": self.author,
            "git_commit": self.git_commit,
            "source_path": self.source_path,
            "table_format": self.table_format,
            "num_rows": self.num_rows,
            "table_schema": self.table_schema,
            "profile": self.profile,
        }


@dataclass(frozen=True, slots=True)
class DatasetSummary:
    name: str
    latest_version: int
    version_count: int
    size: int  # bytes of the latest version
    updated_ms: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "latest_version": self.latest_version,
            "versions": self.version_count,
            "size": self.size,
            "updated_ms": self.updated_ms,
        }


@dataclass(frozen=True, slots=True)
class RunInput:
    run_id: str
    name: str
    version: int
    context: str
    created_ms: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "name": self.name,
            "version": self.version,
            "uri": self.uri,
            "context": self.context,
            "created_ms": self.created_ms,
        }

    @property
    def uri(self) -> str:
        return f"data:/{self.name}/{self.version}"
