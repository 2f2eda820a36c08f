"""``checkout``: make a folder (or file) hold exactly a dataset version, without losing edits.

Files that already hold the right content (known from the stat cache) are left alone; the
rest are placed from the object store in parallel (see ``links.py`` for the modes). A file that
was edited since the version the path last held is never overwritten without ``force``: the
edit would be lost, since only added versions are stored. Files of the previous version that
the new one lacks are removed, so the path matches the version; other files are kept.
"""

from __future__ import annotations

import os
import stat
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loopml.data import _state, _stores
from loopml.data._progress import progress_bar
from loopml.data.hashing import FileStat, StatCache, bounded_map, execute, plan
from loopml.data.links import Placer, link_modes
from loopml.data.versions import resolve
from loopml.data.workspace import Workspace
from loopml.errors import InvalidParameterError, InvalidStateError, NotFoundError
from loopml.store.metadata.data_entities import DatasetVersion
from loopml.store.objects import ManifestEntry

__all__ = ["CheckoutReport", "checkout"]

# One thread: a checkout is bound by creating files, which the filesystem serializes (perf on
# ext4: 70% of the time in its inode allocator, and a second thread only spun on its lock,
# taking 1.3-1.9x longer on 20,000 files). Large files are copied by the kernel anyway.
WORKERS = 1


@dataclass
class CheckoutReport:
    version: DatasetVersion
    path: Path
    written: int = 0
    unchanged: int = 0
    removed: int = 0
    modes: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.version.name,
            "version": self.version.version,
            "uri": self.version.uri,
            "path": str(self.path),
            "written": self.written,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "modes": self.modes,
        }


def checkout(
    ref: str | DatasetVersion,
    dest: str | os.PathLike[str] | None = None,
    *,
    link: str | None = None,
    force: bool = False,
    progress: bool | None = None,
    workers: int | None = None,
) -> CheckoutReport:
    """Materialize version ``ref`` in folder ``dest`` (default: where the dataset was added).

    A single-file dataset lands as ``dest/<file name>``; without ``dest`` it returns to its
    tracked path. ``link`` is a comma-separated list of modes tried in order (see links.py).
    """
    version = resolve(ref)
    ctx = _stores.context()
    objects = ctx.objects
    modes = link_modes(link, ctx.settings)
    try:
        manifest = objects.read_manifest(version.manifest_hash)
    except NotFoundError:
        raise NotFoundError(
            f"the files of {version.uri} are not in the local object store "
            f"{objects.url}: fetch them with `loopml data pull {version.name}@{version.version}`",
            uri=version.uri,
        ) from None
    conn = _state.connect(ctx.settings.state_dir)
    try:
        ws = Workspace(conn, ctx.settings.root)
        location = _location(ws, version, manifest.entries, dest)
        previous = _previous_entries(ws, objects, location)
        files = _targets(location, version.layout, manifest.entries)
        cache = StatCache(conn)
        current = _current_hashes(location, files, cache)
        _refuse_lost_edits(current, manifest.entries, previous, force, location)

        report = CheckoutReport(version, location)
        todo = [
            (rel, entry)
            for rel, entry in manifest.entries.items()
            if current.get(rel) != entry.hash
        ]
        report.unchanged = len(manifest.entries) - len(todo)
        used: Counter[str] = Counter()
        placed: list[tuple[FileStat, str]] = []

        placer = Placer(objects, modes)

        def one(item: tuple[str, ManifestEntry]) -> tuple[FileStat, ManifestEntry, str]:
            rel, entry = item
            target = files[rel]
            how = placer.place(entry.hash, target, entry.mode, entry.size)
            return FileStat.of(rel, str(target), target.stat()), entry, how

        total = sum(e.size for _, e in todo)
        with progress_bar(
            f"checking out {version.name}@{version.version}", total, enabled=progress
        ) as advance:
            results = bounded_map(one, todo, workers or WORKERS, lambda item: item[1].size)
            for written, entry, how in results:
                used[how] += 1
                placed.append((written, entry.hash))
                advance(entry.size)
        cache.record(placed, written=True)
        report.written = len(todo)
        report.modes = dict(used)
        report.removed = _remove_stale(
            location, version.layout, manifest.entries, previous, current
        )
        ws.track(location, version)
        return report
    finally:
        conn.close()


def _location(
    ws: Workspace, version: DatasetVersion, entries: dict[str, ManifestEntry], dest: Any
) -> Path:
    if dest is not None:
        folder = Path(os.path.abspath(dest))  # noqa: PTH100
        if folder.is_file():
            raise InvalidParameterError(
                f"{folder} is a file: checkout writes into a folder", path=str(folder)
            )
        return folder / next(iter(entries)) if version.layout == "file" else folder
    tracked = ws.tracked_path_of(version.name)
    if tracked is None:
        raise InvalidParameterError(
            f"dataset {version.name!r} was never added or checked out in this workspace: "
            f"name a folder, e.g. `loopml data checkout {version.name}@{version.version} ./data`"
        )
    return tracked.location


def _targets(location: Path, layout: str, entries: dict[str, ManifestEntry]) -> dict[str, Path]:
    if layout == "file":
        return dict.fromkeys(entries, location)
    return {rel: location.joinpath(*rel.split("/")) for rel in entries}


def _previous_entries(ws: Workspace, objects: Any, location: Path) -> dict[str, ManifestEntry]:
    """What the path held by its last add or checkout (empty if it was never tracked)."""
    for tracked in ws.tracked():
        if tracked.location == location:
            try:
                entries: dict[str, ManifestEntry] = objects.read_manifest(
                    tracked.manifest_hash
                ).entries
            except NotFoundError:
                return {}
            return entries
    return {}


def _current_hashes(location: Path, files: dict[str, Path], cache: StatCache) -> dict[str, str]:
    """Hashes of the targets that exist now (stat cache first, reading only changed files)."""
    if not location.exists():
        return {}
    present = []
    for rel, path in files.items():
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            continue
        if stat.S_ISREG(st.st_mode):
            present.append(FileStat.of(rel, str(path), st))
    if not present:
        return {}
    work = plan(location, present, cache, None)
    return {rel: e.hash for rel, e in execute(work, cache, None).items()}


def _refuse_lost_edits(
    current: dict[str, str],
    wanted: dict[str, ManifestEntry],
    previous: dict[str, ManifestEntry],
    force: bool,
    location: Path,
) -> None:
    if force:
        return
    lost = []
    for rel, digest in current.items():
        if digest == wanted[rel].hash:
            continue
        # A single-file path held one entry, whatever its name was then.
        before = previous.get(rel) or (
            next(iter(previous.values())) if len(wanted) == len(previous) == 1 else None
        )
        if before is None or before.hash != digest:
            lost.append(rel)
    if lost:
        shown = ", ".join(lost[:5]) + (f" and {len(lost) - 5} more" if len(lost) > 5 else "")
        raise InvalidStateError(
            f"checkout would overwrite changes in {location}: {shown}. Add them as a new "
            "version first (`loopml data add`), or pass --force to discard them",
            path=str(location),
        )


def _remove_stale(
    location: Path,
    layout: str,
    wanted: dict[str, ManifestEntry],
    previous: dict[str, ManifestEntry],
    current: dict[str, str],
) -> int:
    """Remove unmodified files of the previous version that this version does not have."""
    if layout == "file":
        return 0
    removed = 0
    for rel, entry in previous.items():
        if rel in wanted:
            continue
        path = location.joinpath(*rel.split("/"))
        try:
            from loopml.store.objects import hash_file

            if path.is_file() and hash_file(path) == entry.hash:
                path.unlink()
                removed += 1
        except OSError:
            continue
    return removed
