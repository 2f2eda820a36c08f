"""The seam between the store's logic (hashing, verifying, gc) and where bytes live.

A backend only moves bytes under keys that are already validated hashes; it never hashes and
never decides what to keep. Missing objects surface as ``FileNotFoundError``, which the store
turns into a ``NotFoundError`` a person can act on.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, NamedTuple, Protocol

__all__ = ["Backend", "StoredObject", "TempFile"]


class StoredObject(NamedTuple):
    hash: str
    size: int
    mtime: float  # seconds since the epoch: how gc tells a fresh write from garbage


class TempFile(NamedTuple):
    path: Path
    size: int
    mtime: float


class Backend(Protocol):
    url: str

    def new_temp(self) -> tuple[int, Path]:
        """An open file descriptor and path of a fresh, private temp file."""
        ...

    def commit(self, temp: Path, digest: str) -> None:
        """Make the (verified) temp file the object ``digest``, atomically."""
        ...

    def write_bytes(self, digest: str, data: bytes) -> None: ...

    def touch(self, digest: str) -> None:
        """Mark an existing object as just written, so gc's grace period protects a re-put."""
        ...

    def size(self, digest: str) -> int | None:
        """The stored size, or None if the object is missing."""
        ...

    def open(self, digest: str) -> BinaryIO: ...

    def read_bytes(self, digest: str) -> bytes: ...

    def delete(self, digest: str) -> None: ...

    def iter_objects(self) -> Iterator[StoredObject]:
        """Every stored object; keys that are not hashes (stray files) are skipped."""
        ...

    def iter_temp(self) -> Iterator[TempFile]:
        """Temp files left in the store by writes that died (only local stores have any)."""
        ...

    def remove_temp(self, temp: TempFile) -> None: ...
