"""Garbage collection: remove objects that no metadata refers to, and temp files of dead writes.

The store cannot know what is referenced: the caller (who reads the metadata store) passes the
live hashes and the live manifests, whose entries are live too. A grace period protects objects
written moments ago whose metadata record is not committed yet: without it, gc running beside a
writer would delete an artifact between its upload and its registration.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from loopml.errors import InvalidParameterError
from loopml.store.objects._backend import Backend
from loopml.store.objects._hashing import check_hash
from loopml.store.objects.manifest import Manifest

__all__ = ["GcReport", "collect_garbage"]


@dataclass
class GcReport:
    objects_removed: int = 0
    bytes_removed: int = 0  # bytes of removed objects (temp files not counted)
    temp_files_removed: int = 0
    kept: int = 0


def collect_garbage(
    backend: Backend,
    read_manifest: Callable[[str], Manifest],
    live: Iterable[str],
    manifests: Iterable[str],
    *,
    dry_run: bool = False,
    grace_seconds: float = 3600.0,
) -> GcReport:
    """Remove what is neither live nor young; with ``dry_run``, only count it.

    Every live manifest is read before anything is removed, so a missing or unreadable
    manifest stops gc (with its error) rather than letting its entries be deleted.
    """
    if not grace_seconds >= 0:  # also rejects NaN
        raise InvalidParameterError(
            f"grace_seconds must be >= 0, got {grace_seconds!r}", grace_seconds=grace_seconds
        )
    keep = {check_hash(digest) for digest in live}
    for digest in manifests:
        keep.add(check_hash(digest))
        keep.update(entry.hash for entry in read_manifest(digest).entries.values())

    report = GcReport()
    cutoff = time.time() - grace_seconds
    for obj in backend.iter_objects():
        if obj.hash in keep or obj.mtime > cutoff:
            report.kept += 1
            continue
        if not dry_run:
            try:
                backend.delete(obj.hash)
            except FileNotFoundError:  # removed by someone else meanwhile
                continue
        report.objects_removed += 1
        report.bytes_removed += obj.size
    for temp in backend.iter_temp():
        if temp.mtime <= cutoff:
            if not dry_run:
                backend.remove_temp(temp)
            report.temp_files_removed += 1
    return report
