"""BLAKE3 content hashes: the key of every stored object.

Hashing is streamed in 1 MiB chunks so that memory stays flat whatever the size, and large
inputs use blake3's own threads: hashing then runs at memory speed, well ahead of any disk.
"""

from __future__ import annotations

import os
import re
from typing import IO, Protocol, TypeGuard

from blake3 import blake3

from loopml.errors import InvalidParameterError

__all__ = [
    "CHUNK_SIZE",
    "check_hash",
    "copy_hashing",
    "hash_bytes",
    "hash_file",
    "hash_stream",
    "is_hash",
    "new_hasher",
]

CHUNK_SIZE = 1 << 20
# Below this, starting blake3's thread pool costs more than it saves.
THREADED_MIN_SIZE = 8 << 20

_HEX64 = re.compile(r"[0-9a-f]{64}")


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def new_hasher(size_hint: int | None = None) -> blake3:
    """A hasher that uses all cores when the input is known (or may turn out) to be large."""
    if size_hint is None or size_hint >= THREADED_MIN_SIZE:
        return blake3(max_threads=blake3.AUTO)
    return blake3()


def is_hash(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and _HEX64.fullmatch(value) is not None


def check_hash(value: object) -> str:
    """Return ``value`` if it is a BLAKE3 hex digest, else raise ``INVALID_PARAMETER``.

    Every public method validates its hash first, so a typo never becomes a path outside
    ``objects/`` or a confusing "not found".
    """
    if is_hash(value):
        return value
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    raise InvalidParameterError(
        f"{shown} is not an object hash: expected 64 lowercase hexadecimal characters "
        "(a BLAKE3 digest, as returned by put_*)",
        hash=str(value)[:200],
    )


def hash_bytes(data: bytes | bytearray | memoryview) -> str:
    """The BLAKE3 hex digest of ``data``."""
    return new_hasher(len(data)).update(data).hexdigest()


def hash_stream(stream: Readable, size_hint: int | None = None) -> tuple[str, int]:
    """Hash a stream to its end: ``(hex digest, bytes read)``."""
    hasher = new_hasher(size_hint)
    size = 0
    while chunk := stream.read(CHUNK_SIZE):
        hasher.update(chunk)
        size += len(chunk)
    return hasher.hexdigest(), size


def hash_file(path: str | os.PathLike[str]) -> str:
    """The BLAKE3 hex digest of the file at ``path``.

    Read in chunks rather than memory-mapped: a file truncated by another process while
    mapped would kill this one with SIGBUS.
    """
    with open(path, "rb") as fh:
        return hash_stream(fh, os.fstat(fh.fileno()).st_size)[0]


def copy_hashing(src: Readable, dst: IO[bytes], size_hint: int | None = None) -> tuple[str, int]:
    """Copy ``src`` to ``dst`` and hash the very bytes written: ``(hex digest, size)``.

    Hashing what is written, not what was read earlier, is what lets a store trust the name
    it gives the copy.
    """
    hasher = new_hasher(size_hint)
    size = 0
    while chunk := src.read(CHUNK_SIZE):
        if not isinstance(chunk, bytes | bytearray | memoryview):
            raise InvalidParameterError(
                f"expected a binary stream, got {type(chunk).__name__} chunks: open files "
                "with mode 'rb'"
            )
        hasher.update(chunk)
        dst.write(chunk)
        size += len(chunk)
    return hasher.hexdigest(), size
