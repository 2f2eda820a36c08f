"""``push`` and ``pull``: move dataset objects between the local store and a remote one.

Only missing objects move (a remote is listed once, or asked per object when few are needed),
files move in parallel and are re-hashed as they are written, so a transfer never stores a
corrupt object. Manifests move after the files they list: a remote never holds a version whose
files are missing. Transient failures are retried with backoff; an unreachable remote fails
at once with its URL in the message. Only objects move: version records live in the metadata
store, which a team shares through ``loopml server`` or PostgreSQL.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from loopml.data import _stores
from loopml.data._progress import progress_bar
from loopml.data.hashing import bounded_map
from loopml.data.versions import parse_ref
from loopml.errors import (
    CorruptObjectError,
    InvalidParameterError,
    LoopmlError,
    NotFoundError,
    StoreUnavailableError,
)
from loopml.store.metadata.data_entities import DatasetVersion
from loopml.store.objects import ObjectStore

__all__ = ["TransferReport", "pull", "push", "remote_url"]

T = TypeVar("T")
ENV = "LOOPML_DATA_REMOTE"
ATTEMPTS = 4
# Above this many objects, one listing of the remote is cheaper than a request per object.
LIST_THRESHOLD = 256
_PROBE = "0" * 64


@dataclass
class TransferReport:
    direction: str  # "push" or "pull"
    remote: str
    versions: list[str] = field(default_factory=list)
    objects: int = 0  # objects the versions need
    moved: int = 0
    bytes_moved: int = 0

    @property
    def present(self) -> int:
        return self.objects - self.moved

    def to_dict(self) -> dict[str, Any]:
        return {
            "direction": self.direction,
            "remote": self.remote,
            "versions": self.versions,
            "objects": self.objects,
            "moved": self.moved,
            "already_present": self.present,
            "bytes_moved": self.bytes_moved,
        }


def remote_url(explicit: str | None = None) -> str:
    """The data remote: argument > ``LOOPML_DATA_REMOTE`` > ``[loopml] data_remote``."""
    settings = _stores.context().settings
    url = explicit or os.environ.get(ENV) or settings.project.get("loopml", {}).get("data_remote")
    if not url:
        raise InvalidParameterError(
            "no data remote configured: pass --remote s3://bucket/prefix (or a folder), set "
            f'{ENV}, or add data_remote = "s3://..." under [loopml] in loopml.toml'
        )
    return str(url)


def open_remote(url: str, storage_options: dict[str, Any] | None = None) -> ObjectStore:
    """The remote store, checked to answer (one request) so a bad URL fails before any work."""
    remote = ObjectStore(url, storage_options)
    try:
        remote.exists(_PROBE)
    except StoreUnavailableError as exc:
        raise StoreUnavailableError(
            f"the data remote {url} cannot be reached: {exc.message}", url=url
        ) from None
    return remote


def push(
    refs: Sequence[str | DatasetVersion] | None = None,
    *,
    remote: str | None = None,
    storage_options: dict[str, Any] | None = None,
    workers: int = 8,
    progress: bool | None = None,
) -> TransferReport:
    """Copy the objects of ``refs`` (default: every version) that the remote lacks."""
    url = remote_url(remote)
    local = _stores.object_store()
    dest = open_remote(url, storage_options)
    versions = _versions(refs)
    report = TransferReport("push", url, [v.uri for v in versions])
    manifests = {v.manifest_hash for v in versions}
    files: dict[str, int] = {}
    for digest in sorted(manifests):
        try:
            entries = local.read_manifest(digest).entries.values()
        except NotFoundError:
            raise NotFoundError(
                f"the manifest {digest} is not in the local store {local.url}: its version was "
                "added elsewhere; pull it before pushing",
                hash=digest,
            ) from None
        files.update((e.hash, e.size) for e in entries)
    _move(local, dest, files, manifests, report, workers, progress)
    return report


def pull(
    refs: Sequence[str | DatasetVersion] | None = None,
    *,
    remote: str | None = None,
    storage_options: dict[str, Any] | None = None,
    workers: int = 8,
    progress: bool | None = None,
) -> TransferReport:
    """Copy the objects of ``refs`` (default: every version) that the local store lacks."""
    url = remote_url(remote)
    local = _stores.object_store()
    source = open_remote(url, storage_options)
    versions = _versions(refs)
    report = TransferReport("pull", url, [v.uri for v in versions])
    manifests = {v.manifest_hash for v in versions}
    files: dict[str, int] = {}
    for digest in sorted(manifests):
        try:
            data = local.get_bytes(digest) if local.exists(digest) else None
        except CorruptObjectError:
            data = None
        if data is None:
            data = _retrying(lambda d=digest: source.get_bytes(d), digest)  # type: ignore[misc]
        from loopml.store.objects import Manifest

        files.update((e.hash, e.size) for e in Manifest.from_bytes(data).entries.values())
    _move(source, local, files, manifests, report, workers, progress)
    return report


def _versions(refs: Sequence[str | DatasetVersion] | None) -> list[DatasetVersion]:
    store = _stores.dataset_store()
    if not refs:
        return [v for d in store.list_datasets() for v in store.list_versions(d.name)]
    out: list[DatasetVersion] = []
    for ref in refs:
        if isinstance(ref, DatasetVersion):
            out.append(ref)
            continue
        name, number = parse_ref(ref)
        explicit = "@" in ref or ref.startswith("data:/") or "/" in ref
        if number is None and not explicit:  # a bare name: every version
            out.extend(store.list_versions(name))
        else:
            out.append(store.get_version(name, number))
    return out


def _missing(dest: ObjectStore, hashes: Iterable[str], workers: int) -> set[str]:
    wanted = set(hashes)
    if len(wanted) > LIST_THRESHOLD:
        present = set(dest.iter_hashes())
        return wanted - present

    def check(digest: str) -> tuple[str, bool]:
        return digest, _retrying(lambda: dest.exists(digest), digest)

    return {d for d, ok in bounded_map(check, sorted(wanted), workers) if not ok}


def _move(
    source: ObjectStore,
    dest: ObjectStore,
    files: dict[str, int],
    manifests: set[str],
    report: TransferReport,
    workers: int,
    progress: bool | None,
) -> None:
    report.objects = len(set(files) | manifests)
    missing = _missing(dest, set(files) | manifests, workers)
    todo_files = sorted(h for h in missing if h in files and h not in manifests)
    total = sum(files[h] for h in todo_files)

    def copy(digest: str) -> int:
        return _retrying(lambda: _copy_one(source, dest, digest), digest)

    verb = "pushing to" if report.direction == "push" else "pulling from"
    with progress_bar(f"{verb} {report.remote}", total, enabled=progress) as advance:
        for size in bounded_map(copy, todo_files, workers, files.__getitem__):
            report.moved += 1
            report.bytes_moved += size
            advance(size)
    for digest in sorted(missing & manifests):  # last: a manifest never precedes its files
        report.bytes_moved += copy(digest)
        report.moved += 1


def _copy_one(source: ObjectStore, dest: ObjectStore, digest: str) -> int:
    with source.open(digest) as fh:
        info = dest.put_stream(fh)
    if info.hash != digest:
        dest.delete(info.hash)
        raise CorruptObjectError(
            f"object {digest} in {source.url} is corrupt (its bytes hash to {info.hash}); "
            "it was not copied",
            hash=digest,
        )
    return info.size


def _retrying(fn: Callable[[], T], digest: str) -> T:
    """``fn`` again after transient failures (network, throttling), with jittered backoff."""
    delay = 0.2
    for attempt in range(ATTEMPTS):
        try:
            return fn()
        except (StoreUnavailableError, OSError) as exc:
            if attempt == ATTEMPTS - 1:
                if isinstance(exc, LoopmlError):
                    raise
                raise StoreUnavailableError(
                    f"moving object {digest} failed {ATTEMPTS} times: {exc}", hash=digest
                ) from exc
        time.sleep(delay * (1 + random.random()))
        delay *= 2
    raise AssertionError("unreachable")  # pragma: no cover
