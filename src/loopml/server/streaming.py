"""Bridges between an async request/response body and the object store's blocking file API.

An upload is hashed and written by ``ObjectStore.put_stream`` in a worker thread that pulls
the request's chunks from the event loop one at a time, so a file larger than memory streams
straight through to its temp file; a download iterates the stored object in 1 MiB chunks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import BinaryIO

import anyio
import anyio.from_thread
import anyio.to_thread

from loopml.store.objects import ObjectInfo, ObjectStore

CHUNK = 1 << 20


class _AsyncBodyReader:
    """A blocking ``read(n)`` over an async byte iterator, for use in a worker thread."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = bytearray()
        self._done = False

    async def _next(self) -> bytes | None:
        try:
            return await self._chunks.__anext__()
        except StopAsyncIteration:
            return None

    def read(self, size: int = -1, /) -> bytes:
        while not self._done and (size < 0 or len(self._buffer) < size):
            chunk = anyio.from_thread.run(self._next)
            if chunk is None:
                self._done = True
            else:
                self._buffer.extend(chunk)
        if size < 0 or size >= len(self._buffer):
            out = bytes(self._buffer)
            self._buffer.clear()
            return out
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out


async def store_stream(objects: ObjectStore, chunks: AsyncIterator[bytes]) -> ObjectInfo:
    reader = _AsyncBodyReader(chunks)
    return await anyio.to_thread.run_sync(objects.put_stream, reader)  # type: ignore[arg-type]


def iter_object(fh: BinaryIO) -> Iterator[bytes]:
    with fh:
        while chunk := fh.read(CHUNK):
            yield chunk
