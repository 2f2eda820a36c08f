"""The object store through a loopml server, for clients without the store's credentials.

It is an :class:`ObjectStore` whose byte-moving primitives are HTTP calls, so folders,
manifests and verified downloads behave exactly as locally: ``put_dir`` uploads each file and
a manifest, ``get_file`` re-hashes what it downloads. Uploads stream from the file (a file
larger than memory works) and skip content the server already holds; the server hashes what
it receives, and a mismatch with the local hash means the file changed while it was sent.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from loopml.errors import InvalidStateError, NotFoundError
from loopml.store.metadata._http import HttpClient
from loopml.store.objects._hashing import CHUNK_SIZE, Readable, check_hash, hash_bytes, hash_stream
from loopml.store.objects.gc import GcReport
from loopml.store.objects.store import ObjectInfo, ObjectStore, _check_regular_file

if TYPE_CHECKING:
    import httpx

OBJECTS = "/api/v1/objects"


class _ResponseReader(io.RawIOBase):
    """A streamed HTTP response body as a readable binary file."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self._chunks = response.iter_bytes(CHUNK_SIZE)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self) -> None:
        self._response.close()
        super().close()


def _chunks(source: Readable) -> Iterator[bytes]:
    while chunk := source.read(CHUNK_SIZE):
        yield chunk


class RestObjectStore(ObjectStore):
    def __init__(self, server_url: str, http: HttpClient | None = None) -> None:
        self.http = http or HttpClient(server_url)
        self.url = f"{server_url.rstrip('/')}{OBJECTS}"

    def __repr__(self) -> str:
        return f"RestObjectStore({self.url!r})"

    # -- writing ----------------------------------------------------------------------------
    def _upload(self, body: Iterable[bytes] | bytes) -> ObjectInfo:
        answer = self.http.json(
            "POST",
            OBJECTS,
            content=body,
            headers={"content-type": "application/octet-stream"},
        )
        return ObjectInfo(answer["hash"], answer["size"])

    def put_bytes(self, data: bytes) -> ObjectInfo:
        digest = hash_bytes(data)
        if self._server_size(digest) == len(data):
            return ObjectInfo(digest, len(data))
        return self._upload(bytes(data))

    def put_stream(self, stream: BinaryIO) -> ObjectInfo:
        return self._upload(_chunks(stream))

    def put_file(self, path: str | os.PathLike[str]) -> ObjectInfo:
        file = Path(path)
        _check_regular_file(file)
        with file.open("rb") as src:
            digest, size = hash_stream(src, os.fstat(src.fileno()).st_size)
            if self._server_size(digest) == size:
                return ObjectInfo(digest, size)
            src.seek(0)
            info = self._upload(_chunks(src))
        if info.hash != digest:
            raise InvalidStateError(
                f"{file} changed while it was being stored: store it again once nothing is "
                "writing to it",
                path=str(file),
            )
        return info

    # -- reading ----------------------------------------------------------------------------
    def open(self, hash: str) -> BinaryIO:
        response = self.http.stream("GET", f"{OBJECTS}/{check_hash(hash)}")
        return io.BufferedReader(_ResponseReader(response), CHUNK_SIZE)

    def get_bytes(self, hash: str) -> bytes:
        digest = check_hash(hash)
        with self.open(digest) as fh:
            data = fh.read()
        self._check(digest, hash_bytes(data))
        return data

    # -- inspecting -------------------------------------------------------------------------
    def _server_size(self, digest: str) -> int | None:
        try:
            response = self.http.request("HEAD", f"{OBJECTS}/{digest}")
        except NotFoundError:
            return None
        return int(response.headers["x-object-size"])

    def exists(self, hash: str) -> bool:
        return self._server_size(check_hash(hash)) is not None

    def size(self, hash: str) -> int:
        size = self._server_size(check_hash(hash))
        if size is None:
            raise self._missing(hash)
        return size

    def verify(self, hash: str) -> bool:
        digest = check_hash(hash)
        with self.open(digest) as fh:
            return hash_stream(fh)[0] == digest

    # -- what only the server does ----------------------------------------------------------
    def _server_side(self, what: str) -> InvalidStateError:
        return InvalidStateError(
            f"{what} runs on the server's object store, not through the REST API: run it on the "
            "server's machine (`loopml gc`), or set LOOPML_ARTIFACTS_DIRECT=1 with the store's "
            "credentials"
        )

    def delete(self, hash: str) -> None:
        raise self._server_side("deleting objects")

    def iter_hashes(self) -> Iterator[str]:
        raise self._server_side("listing objects")

    def verify_all(self) -> list[str]:
        raise self._server_side("verifying every object")

    def collect_garbage(
        self,
        live: Iterable[str],
        manifests: Iterable[str],
        *,
        dry_run: bool = False,
        grace_seconds: float = 3600.0,
    ) -> GcReport:
        raise self._server_side("garbage collection")
