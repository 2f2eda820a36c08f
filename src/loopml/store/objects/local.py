"""Objects in a local folder, with plain os calls: the default store and its fast path.

A write goes to ``<root>/tmp/<random>``, is fsynced, and is renamed to
``<root>/objects/ab/cdef…``. A rename is atomic, so a process killed mid-write leaves only a
temp file (which gc removes), never a partial object under a real name.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from loopml.store.objects._backend import StoredObject, TempFile
from loopml.store.objects._hashing import is_hash

__all__ = ["LocalBackend"]

# Objects never change once written; read-only files (as in git) guard against a tool that
# would edit one in place.
OBJECT_MODE = 0o444


class LocalBackend:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = str(root)
        self.objects = root / "objects"
        self.tmp = root / "tmp"

    def path(self, digest: str) -> Path:
        return self.objects / digest[:2] / digest[2:]

    def new_temp(self) -> tuple[int, Path]:
        self.tmp.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.tmp, prefix="put-")
        return fd, Path(name)

    def commit(self, temp: Path, digest: str) -> None:
        _fsync_path(temp, os.O_RDONLY)
        temp.chmod(OBJECT_MODE)
        dest = self.path(digest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        temp.replace(dest)
        # The rename itself must survive a power cut, or metadata committed next would point
        # at an object that is gone.
        _fsync_dir(dest.parent)

    def write_bytes(self, digest: str, data: bytes) -> None:
        fd, temp = self.new_temp()
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            self.commit(temp, digest)
        finally:
            temp.unlink(missing_ok=True)

    def touch(self, digest: str) -> None:
        # Another user's object in a shared folder cannot be touched; it is then left as is.
        with contextlib.suppress(PermissionError):
            os.utime(self.path(digest))

    def size(self, digest: str) -> int | None:
        try:
            return self.path(digest).stat().st_size
        except FileNotFoundError:
            return None

    def open(self, digest: str) -> BinaryIO:
        return open(self.path(digest), "rb")

    def read_bytes(self, digest: str) -> bytes:
        return self.path(digest).read_bytes()

    def delete(self, digest: str) -> None:
        path = self.path(digest)
        if os.name == "nt":  # Windows refuses to delete a read-only file
            path.chmod(0o644)
        path.unlink()

    def iter_objects(self) -> Iterator[StoredObject]:
        try:
            shards = os.scandir(self.objects)
        except FileNotFoundError:
            return
        with shards:
            for shard in shards:
                if len(shard.name) != 2 or not shard.is_dir(follow_symlinks=False):
                    continue
                with os.scandir(shard.path) as files:
                    for entry in files:
                        digest = shard.name + entry.name
                        if not is_hash(digest) or not entry.is_file(follow_symlinks=False):
                            continue
                        try:
                            st = entry.stat(follow_symlinks=False)
                        except FileNotFoundError:  # deleted while we looked
                            continue
                        yield StoredObject(digest, st.st_size, st.st_mtime)

    def iter_temp(self) -> Iterator[TempFile]:
        try:
            entries = os.scandir(self.tmp)
        except FileNotFoundError:
            return
        with entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    continue
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                yield TempFile(Path(entry.path), st.st_size, st.st_mtime)

    def remove_temp(self, temp: TempFile) -> None:
        temp.path.unlink(missing_ok=True)


def _fsync_path(path: Path, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    if os.name != "nt":  # Windows cannot open a folder as a file
        _fsync_path(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
