"""The content-addressed object store: an object's name is the BLAKE3 hash of its bytes.

Content addressing gives three properties for free: identical content is stored once, a name
can be checked against the bytes it names (so corruption is detected, never served), and a
stored object never changes, so caches and references to it stay valid forever.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from loopml.errors import (
    CorruptObjectError,
    InvalidParameterError,
    InvalidStateError,
    NotFoundError,
)
from loopml.store.objects._backend import Backend
from loopml.store.objects._hashing import (
    Readable,
    check_hash,
    copy_hashing,
    hash_bytes,
    hash_stream,
)
from loopml.store.objects.gc import GcReport, collect_garbage
from loopml.store.objects.local import LocalBackend
from loopml.store.objects.manifest import Manifest, ManifestEntry, check_relative_path, normal_mode

__all__ = ["ObjectInfo", "ObjectStore"]

# Files written out of the store get ordinary permissions; objects inside it are read-only.
CHECKOUT_MODE = 0o644


@dataclass(frozen=True)
class ObjectInfo:
    hash: str
    size: int


class ObjectStore:
    """Objects in a local folder (default), a ``file://`` URL, or ``s3://bucket/prefix``.

    ``storage_options`` go to fsspec for remote URLs (for S3, to s3fs); without them the S3
    endpoint comes from ``LOOPML_S3_ENDPOINT_URL`` and credentials from the ``AWS_*`` variables.
    """

    def __init__(
        self, url: str | os.PathLike[str], storage_options: dict[str, Any] | None = None
    ) -> None:
        text = os.fspath(url)
        self._backend: Backend
        if _is_remote(text):
            from loopml.store.objects.remote import FsspecBackend

            self._backend = FsspecBackend(text, storage_options)
        else:
            self._backend = LocalBackend(_local_root(text))
        self.url: str = self._backend.url

    def __repr__(self) -> str:
        return f"ObjectStore({self.url!r})"

    # -- writing ----------------------------------------------------------------------------
    def put_bytes(self, data: bytes) -> ObjectInfo:
        digest = hash_bytes(data)
        if not self._present(digest, len(data)):
            self._backend.write_bytes(digest, bytes(data))
        return ObjectInfo(digest, len(data))

    def put_stream(self, stream: BinaryIO) -> ObjectInfo:
        """Store a stream of any length: it is hashed while spooled, never held in memory."""
        return self._ingest(stream)

    def put_file(self, path: str | os.PathLike[str]) -> ObjectInfo:
        """Store a file: hash it (to skip content already stored), then copy while re-hashing.

        The two hashes must agree: a file that changes while it is stored is refused rather
        than stored as a torn mix of old and new bytes.
        """
        file = Path(path)
        _check_regular_file(file)
        with file.open("rb") as src:
            size_hint = os.fstat(src.fileno()).st_size
            digest, size = hash_stream(src, size_hint)
            if self._present(digest, size):
                return ObjectInfo(digest, size)
            src.seek(0)
            return self._ingest(src, expected=digest, size_hint=size_hint, origin=file)

    def put_dir(self, path: str | os.PathLike[str]) -> ObjectInfo:
        """Store every file under ``path`` and a manifest of them.

        Returns the manifest's hash and the total bytes of the files. Symbolic links to files
        are stored as the files they point to; links to folders are refused (they can loop).
        """
        root = Path(path)
        if not root.is_dir():
            raise (NotFoundError if not root.exists() else InvalidParameterError)(
                f"cannot store {root} as a folder: it is not a folder", path=str(root)
            )
        entries: dict[str, ManifestEntry] = {}
        for dirpath, dirnames, filenames in os.walk(root, onerror=_raise):
            here = Path(dirpath)
            for name in dirnames:
                if (here / name).is_symlink():
                    raise InvalidParameterError(
                        f"{here / name} is a link to a folder, which put_dir does not follow: "
                        "copy the folder in or remove the link",
                        path=str(here / name),
                    )
            for name in filenames:
                file = here / name
                info = self.put_file(file)
                mode = normal_mode(file.stat().st_mode)
                entries[file.relative_to(root).as_posix()] = ManifestEntry(
                    info.hash, info.size, mode
                )
        manifest = Manifest(entries)
        return ObjectInfo(self.put_manifest(manifest).hash, manifest.total_size)

    def put_manifest(self, manifest: Manifest) -> ObjectInfo:
        """Store a manifest built by hand; its entries should already be stored."""
        for path, entry in manifest.entries.items():
            check_relative_path(path)
            check_hash(entry.hash)
        return self.put_bytes(manifest.to_bytes())

    # -- reading ----------------------------------------------------------------------------
    def get_bytes(self, hash: str) -> bytes:
        """The object's bytes, verified against its hash."""
        digest = check_hash(hash)
        with self._not_found(digest):
            data = self._backend.read_bytes(digest)
        self._check(digest, hash_bytes(data))
        return data

    def open(self, hash: str) -> BinaryIO:
        """A streaming reader. Unlike the get_* methods it does not verify: see ``verify``."""
        digest = check_hash(hash)
        with self._not_found(digest):
            return self._backend.open(digest)

    def get_file(self, hash: str, dest: str | os.PathLike[str]) -> Path:
        """Write the object to ``dest`` atomically: a reader of ``dest`` never sees half a file.

        The bytes are verified on the way; a corrupt object leaves ``dest`` untouched.
        """
        digest = check_hash(hash)
        target = Path(dest)
        if target.is_dir():
            raise InvalidParameterError(
                f"{target} is a folder: pass the path of the file to write", path=str(target)
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        with self.open(digest) as src:
            fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            temp = Path(name)
            try:
                with os.fdopen(fd, "wb") as out:
                    actual, _ = copy_hashing(src, out)
                self._check(digest, actual)
                temp.chmod(CHECKOUT_MODE)
                temp.replace(target)
            finally:
                temp.unlink(missing_ok=True)
        return target

    def read_manifest(self, hash: str) -> Manifest:
        data = self.get_bytes(hash)
        try:
            return Manifest.from_bytes(data)
        except InvalidParameterError as exc:
            raise CorruptObjectError(
                f"object {hash} is not a valid directory manifest ({exc.message}): pass a hash "
                "returned by put_dir or put_manifest",
                hash=hash,
            ) from None

    def get_dir(self, hash: str, dest: str | os.PathLike[str]) -> Path:
        """Materialize a manifest as a folder; files in ``dest`` it does not list are kept."""
        manifest = self.read_manifest(hash)
        root = Path(dest)
        root.mkdir(parents=True, exist_ok=True)
        for path, entry in sorted(manifest.entries.items()):
            target = root.joinpath(*path.split("/"))
            self.get_file(entry.hash, target)
            target.chmod(entry.mode & 0o777)
        return root

    # -- inspecting -------------------------------------------------------------------------
    def exists(self, hash: str) -> bool:
        return self._backend.size(check_hash(hash)) is not None

    def size(self, hash: str) -> int:
        digest = check_hash(hash)
        size = self._backend.size(digest)
        if size is None:
            raise self._missing(digest)
        return size

    def verify(self, hash: str) -> bool:
        """Re-hash the stored bytes: False if they no longer match their name."""
        digest = check_hash(hash)
        with self.open(digest) as fh:
            actual, _ = hash_stream(fh)
        return actual == digest

    def verify_all(self) -> list[str]:
        """The hashes of every corrupt object (an empty list for a healthy store)."""
        corrupt = []
        for digest in self.iter_hashes():
            try:
                if not self.verify(digest):
                    corrupt.append(digest)
            except NotFoundError:  # deleted while we were looking
                continue
        return corrupt

    def iter_hashes(self) -> Iterator[str]:
        for obj in self._backend.iter_objects():
            yield obj.hash

    # -- removing ---------------------------------------------------------------------------
    def delete(self, hash: str) -> None:
        digest = check_hash(hash)
        with self._not_found(digest):
            self._backend.delete(digest)

    def collect_garbage(
        self,
        live: Iterable[str],
        manifests: Iterable[str],
        *,
        dry_run: bool = False,
        grace_seconds: float = 3600.0,
    ) -> GcReport:
        """Remove objects not in ``live`` nor listed by a manifest in ``manifests``.

        Objects younger than ``grace_seconds`` are kept whatever they are (their metadata may
        not be committed yet), and temp files of writes that died are removed once as old.
        """
        return collect_garbage(
            self._backend,
            self.read_manifest,
            live,
            manifests,
            dry_run=dry_run,
            grace_seconds=grace_seconds,
        )

    # -- internals --------------------------------------------------------------------------
    def _present(self, digest: str, size: int) -> bool:
        """True if the object is already stored whole, so the write can be skipped.

        A stored object of the wrong size (truncated by a disk fault) is rewritten instead.
        """
        if self._backend.size(digest) != size:
            return False
        self._backend.touch(digest)
        return True

    def _ingest(
        self,
        source: Readable,
        *,
        expected: str | None = None,
        size_hint: int | None = None,
        origin: Path | None = None,
    ) -> ObjectInfo:
        fd, temp = self._backend.new_temp()
        try:
            with os.fdopen(fd, "wb") as out:
                digest, size = copy_hashing(source, out, size_hint)
            if expected is not None and digest != expected:
                raise InvalidStateError(
                    f"{origin} changed while it was being stored: store it again once "
                    "nothing is writing to it",
                    path=str(origin),
                )
            if not self._present(digest, size):
                self._backend.commit(temp, digest)
        finally:
            temp.unlink(missing_ok=True)
        return ObjectInfo(digest, size)

    def _check(self, digest: str, actual: str) -> None:
        if actual != digest:
            raise CorruptObjectError(
                f"object {digest} in {self.url} is corrupt: its bytes hash to {actual}. "
                "Delete it and store the content again, or restore it from a backup",
                hash=digest,
                actual=actual,
            )

    def _missing(self, digest: str) -> NotFoundError:
        return NotFoundError(
            f"object {digest} is not in the object store {self.url}: it was never stored "
            "there or gc removed it. Check that LOOPML_OBJECT_STORE names the store that "
            "holds it",
            hash=digest,
            store=self.url,
        )

    @contextmanager
    def _not_found(self, digest: str) -> Iterator[None]:
        try:
            yield
        except FileNotFoundError:
            raise self._missing(digest) from None


def _is_remote(url: str) -> bool:
    scheme, sep, _ = url.partition("://")
    return bool(sep) and scheme.lower() != "file"


def _local_root(url: str) -> Path:
    if not url:
        raise InvalidParameterError("the object store URL is empty: pass a folder or s3:// URL")
    if url.lower().startswith("file://"):
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise InvalidParameterError(
                f"{url!r} names another host: a file:// URL must be file:///absolute/path",
                url=url,
            )
        from urllib.request import url2pathname  # lazily: it pulls in http and ssl, ~20 ms

        url = url2pathname(parts.path)
    return Path(url).expanduser().absolute()


def _check_regular_file(file: Path) -> None:
    try:
        mode = file.stat().st_mode
    except FileNotFoundError:
        raise NotFoundError(f"cannot store {file}: there is no such file", path=str(file)) from None
    if stat.S_ISDIR(mode):
        raise InvalidParameterError(f"{file} is a folder: store it with put_dir", path=str(file))
    if not stat.S_ISREG(mode):
        raise InvalidParameterError(
            f"{file} is not a regular file (a pipe, socket or device) and cannot be stored",
            path=str(file),
        )


def _raise(error: OSError) -> None:
    raise error
