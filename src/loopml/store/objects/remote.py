"""Objects on a remote filesystem through fsspec: S3 (s3fs), and any other fsspec protocol.

One PUT of a whole object is atomic on S3: a reader sees all of it or nothing, and a multipart
upload appears only once completed. So the store spools and hashes a stream in a local temp
file first, then uploads it straight to its final key: no temp keys to rename or clean up.
fsspec and s3fs are imported here, lazily, so that ``import loopml`` stays fast.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, cast

from loopml.errors import InvalidParameterError, LoopmlError, StoreUnavailableError
from loopml.store.objects._backend import StoredObject, TempFile
from loopml.store.objects._hashing import is_hash

__all__ = ["FsspecBackend", "resolve_storage_options"]

S3_PROTOCOLS = ("s3", "s3a")
ENDPOINT_ENV = "LOOPML_S3_ENDPOINT_URL"


def resolve_storage_options(url: str, explicit: dict[str, Any] | None) -> dict[str, Any]:
    """Explicit options win key by key; for S3 the endpoint may come from the environment.

    Credentials are left to botocore, which reads the usual ``AWS_*`` variables and files.
    """
    options = dict(explicit or {})
    if _protocol(url) in S3_PROTOCOLS:
        client_kwargs = dict(options.get("client_kwargs") or {})
        endpoint = os.environ.get(ENDPOINT_ENV)
        if endpoint and "endpoint_url" not in options and "endpoint_url" not in client_kwargs:
            client_kwargs["endpoint_url"] = endpoint
        if client_kwargs:
            options["client_kwargs"] = client_kwargs
        # The store is shared by processes: a cached listing would hide their writes.
        options.setdefault("use_listings_cache", False)
    return options


class FsspecBackend:
    def __init__(self, url: str, storage_options: dict[str, Any] | None = None) -> None:
        self.url = url.rstrip("/")
        self.fs, root = _open_filesystem(url, resolve_storage_options(url, storage_options))
        self.root = str(root).rstrip("/")
        if not self.root:
            raise InvalidParameterError(
                f"{url!r} names no bucket or folder: use e.g. s3://my-bucket/loopml", url=url
            )

    def key(self, digest: str) -> str:
        return f"{self.root}/objects/{digest[:2]}/{digest[2:]}"

    def new_temp(self) -> tuple[int, Path]:
        fd, name = tempfile.mkstemp(prefix="loopml-put-")
        return fd, Path(name)

    def commit(self, temp: Path, digest: str) -> None:
        with self._errors(writing=True):
            self.fs.put_file(str(temp), self.key(digest))
        temp.unlink(missing_ok=True)

    def write_bytes(self, digest: str, data: bytes) -> None:
        with self._errors(writing=True):
            self.fs.pipe_file(self.key(digest), data)

    def touch(self, digest: str) -> None:
        """S3 cannot refresh an object's time without copying it: see docs/object-store.md."""

    def size(self, digest: str) -> int | None:
        with self._errors():
            try:
                info = self.fs.info(self.key(digest))
            except FileNotFoundError:
                return None
        return int(info["size"])

    def open(self, digest: str) -> BinaryIO:
        with self._errors():
            return cast(BinaryIO, self.fs.open(self.key(digest), "rb"))

    def read_bytes(self, digest: str) -> bytes:
        with self._errors():
            return cast(bytes, self.fs.cat_file(self.key(digest)))

    def delete(self, digest: str) -> None:
        if self.size(digest) is None:  # S3 deletes a missing key without complaint
            raise FileNotFoundError(self.key(digest))
        with self._errors(writing=True):
            self.fs.rm_file(self.key(digest))

    def iter_objects(self) -> Iterator[StoredObject]:
        with self._errors():
            try:
                found: dict[str, dict[str, Any]] = self.fs.find(f"{self.root}/objects", detail=True)
            except FileNotFoundError:
                return
        for path, info in found.items():
            parent, _, name = path.rpartition("/")
            digest = parent[-2:] + name
            if is_hash(digest) and path == self.key(digest) and info.get("type") != "directory":
                yield StoredObject(digest, int(info.get("size") or 0), self._mtime(path, info))

    def iter_temp(self) -> Iterator[TempFile]:
        return iter(())  # uploads go straight to their final key

    def remove_temp(self, temp: TempFile) -> None:
        """Nothing to remove: remote uploads never leave temp files (see ``iter_temp``)."""

    def _mtime(self, path: str, info: dict[str, Any]) -> float:
        for key in ("LastModified", "mtime", "updated", "last_modified", "modified", "created"):
            if info.get(key) is not None:
                return _timestamp(info[key])
        try:
            return _timestamp(self.fs.modified(path))
        except Exception:  # unknown age: report it as new, so gc keeps it
            return time.time()

    @contextmanager
    def _errors(self, *, writing: bool = False) -> Iterator[None]:
        """Turn transport failures into STORE_UNAVAILABLE; keep FileNotFoundError for reads."""
        try:
            yield
        except LoopmlError:
            raise
        except FileNotFoundError as exc:
            if not writing:
                raise
            raise StoreUnavailableError(
                f"cannot write to {self.url}: {exc}. Does the bucket exist?", url=self.url
            ) from exc
        except PermissionError as exc:
            raise StoreUnavailableError(
                f"access to {self.url} was denied ({exc}): check the credentials "
                "(AWS_* environment variables, or storage_options)",
                url=self.url,
            ) from exc
        except Exception as exc:
            module = type(exc).__module__
            if isinstance(exc, OSError) or module.startswith(
                ("botocore", "aiobotocore", "aiohttp")
            ):
                raise StoreUnavailableError(
                    f"the object store {self.url} cannot be reached: {exc}", url=self.url
                ) from exc
            raise


def _protocol(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else "file"


def _open_filesystem(url: str, options: dict[str, Any]) -> tuple[Any, str]:
    if _protocol(url) in S3_PROTOCOLS:
        try:
            import s3fs  # noqa: F401
        except ImportError:
            raise StoreUnavailableError(
                f"the object store {url} is on S3, which needs s3fs: pip install 'loopml[s3]'",
                url=url,
            ) from None
    from fsspec.core import url_to_fs

    try:
        fs, path = url_to_fs(url, **options)
    except ImportError as exc:
        raise StoreUnavailableError(f"cannot open the object store {url}: {exc}", url=url) from exc
    except ValueError as exc:
        raise InvalidParameterError(
            f"{url!r} is not a usable object store URL ({exc}): use a local folder, "
            "file:///path or s3://bucket/prefix",
            url=url,
        ) from exc
    return fs, str(path)


def _timestamp(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return float(value)
