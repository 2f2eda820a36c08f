"""Placing a stored object at a workspace path: reflink, hardlink, symlink or copy.

The default, ``reflink,copy``, can never let an edit in the workspace reach the store: a
reflink is a copy-on-write clone (the filesystem copies a block the moment it is written) and
a copy is a copy. ``hardlink`` and ``symlink`` are faster and use no space, but the workspace
file then *is* the stored object: objects are read-only, yet a tool that makes a file writable
and edits it in place would corrupt the store. They are opt-in, for read-only use.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from loopml.errors import CorruptObjectError, InvalidParameterError, NotFoundError
from loopml.store.objects import hash_bytes, hash_file

if TYPE_CHECKING:
    from loopml.config import Settings
    from loopml.store.objects import ObjectStore

__all__ = ["DEFAULT_LINK", "LINK_MODES", "Placer", "link_modes"]

LINK_MODES = ("reflink", "hardlink", "symlink", "copy")
DEFAULT_LINK = ("reflink", "copy")
ENV = "LOOPML_DATA_LINK"
_FICLONE = 0x40049409  # linux/fs.h: clone a whole file (btrfs, XFS, bcachefs, ...)
# Objects up to this size are copied through memory (and verified there).
SMALL_MAX = 1 << 20
_NOT_SUPPORTED = {
    errno.EXDEV,
    errno.EOPNOTSUPP,
    errno.ENOTTY,
    errno.EINVAL,
    errno.EPERM,
    errno.ENOSYS,
}


def link_modes(explicit: str | None, settings: Settings) -> tuple[str, ...]:
    """Modes to try in order: argument > ``LOOPML_DATA_LINK`` > ``[loopml] data_link`` > default."""
    raw = explicit or os.environ.get(ENV) or settings.project.get("loopml", {}).get("data_link")
    if not raw:
        return DEFAULT_LINK
    modes = tuple(m.strip() for m in str(raw).split(",") if m.strip())
    bad = [m for m in modes if m not in LINK_MODES]
    if bad or not modes:
        raise InvalidParameterError(
            f"unknown link mode {bad[0] if bad else raw!r}: use one or more of "
            f"{', '.join(LINK_MODES)}, comma-separated, tried in order (e.g. reflink,copy)"
        )
    return modes


def object_path(objects: ObjectStore, digest: str) -> Path | None:
    """Where a local store keeps an object (``objects/ab/cdef…``), or None for a remote one."""
    if "://" in objects.url:
        return None
    return Path(objects.url) / "objects" / digest[:2] / digest[2:]


class Placer:
    """Places objects for one checkout: remembers the folders it made and the modes that fail."""

    def __init__(self, objects: ObjectStore, modes: tuple[str, ...]) -> None:
        self.objects = objects
        self.modes = modes
        self.local = "://" not in objects.url
        self._failed: set[str] = set()
        self._dirs: set[Path] = set()
        self._lock = threading.Lock()

    def place(self, digest: str, target: Path, mode: int, size: int) -> str:
        """Put object ``digest`` at ``target`` atomically with the first mode that works."""
        folder = target.parent
        if folder not in self._dirs:
            folder.mkdir(parents=True, exist_ok=True)
            with self._lock:
                self._dirs.add(folder)
        source = object_path(self.objects, digest)
        if source is not None:
            for how in self.modes:
                if how == "copy":
                    break
                if how in self._failed:
                    continue
                try:
                    _link(how, source, target, mode)
                    return how
                except OSError as exc:
                    if exc.errno not in _NOT_SUPPORTED:
                        raise
                    with self._lock:
                        self._failed.add(how)
        if "copy" not in self.modes:
            raise InvalidParameterError(
                f"none of the link modes {', '.join(self.modes)} works for {target}: add copy "
                f"(e.g. --link {','.join((*self.modes, 'copy'))})",
                path=str(target),
            )
        if source is not None:
            (_copy_small if size <= SMALL_MAX else _copy_large)(source, digest, target, mode)
        else:
            self.objects.get_file(digest, target)  # verified while copied, atomic
            target.chmod(mode & 0o777)
        return "copy"


def _copy_small(source: Path, digest: str, target: Path, mode: int) -> None:
    """Copy a small object through memory, verified, into place by rename.

    Raw ``os`` calls: a checkout of 20,000 small files is bound by system calls, and buffered
    file objects add four per file (fstat, isatty, two lseeks).
    """
    try:
        fd = os.open(source, os.O_RDONLY)
    except FileNotFoundError:
        raise NotFoundError(
            f"object {digest} is missing from the local store: pull the version again",
            hash=digest,
        ) from None
    try:
        data = os.read(fd, SMALL_MAX + 1)
    finally:
        os.close(fd)
    _check(digest, hash_bytes(data))
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.tmp")
    out = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode & 0o777)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(out, view) :]
    except BaseException:
        os.close(out)
        temp.unlink()
        raise
    os.close(out)
    temp.replace(target)


def _copy_large(source: Path, digest: str, target: Path, mode: int) -> None:
    """Copy in the kernel (``copy_file_range``), then hash the copy: verified, and fast."""
    from loopml.data.ingest import copy_file

    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with open(source, "rb") as src, open(temp, "xb") as out:
            copy_file(src, out)
        _check(digest, hash_file(temp))
        temp.chmod(mode & 0o777)
        temp.replace(target)
    except FileNotFoundError:
        if source.exists():
            raise
        raise NotFoundError(
            f"object {digest} is missing from the local store: pull the version again",
            hash=digest,
        ) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def _check(digest: str, actual: str) -> None:
    if actual != digest:
        raise CorruptObjectError(
            f"object {digest} is corrupt (its bytes no longer match its hash): pull the "
            "version again, or restore the object from a backup",
            hash=digest,
        )


def _link(how: str, source: Path, target: Path, mode: int) -> None:
    temp = Path(tempfile.mktemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))  # noqa: S306 (the name is only used by link/symlink/O_EXCL)
    try:
        if how == "reflink":
            import fcntl

            with open(source, "rb") as src, open(temp, "xb") as dst:
                fcntl.ioctl(dst.fileno(), _FICLONE, src.fileno())
            temp.chmod(mode & 0o777)
        elif how == "hardlink":
            os.link(source, temp)
        else:
            temp.symlink_to(source)
        temp.replace(target)
    finally:
        if temp.is_symlink() or temp.exists():
            temp.unlink()
