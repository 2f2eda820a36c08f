"""A directory as one object: a canonical JSON map of relative path -> (hash, size, mode).

The bytes are canonical (sorted keys, no whitespace, modes reduced to 0o644/0o755 as git does)
so that the same tree always gives the same manifest hash, on any machine and under any umask:
that is what makes a stored folder reproducible and deduplicated as a whole.
"""

from __future__ import annotations

import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

import orjson

from loopml.errors import InvalidParameterError
from loopml.store.objects._hashing import check_hash

__all__ = ["MANIFEST_FORMAT", "Manifest", "ManifestEntry", "check_relative_path", "normal_mode"]

MANIFEST_FORMAT = "loopml-dir/1"


def normal_mode(st_mode: int) -> int:
    """0o755 if any execute bit is set, else 0o644: the only permission a tree keeps."""
    return 0o755 if st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH) else 0o644


def check_relative_path(path: str) -> str:
    """Reject paths that could escape the folder a manifest is materialized into."""
    parts = path.split("/")
    if (
        not path
        or path.startswith("/")
        or "\\" in path
        or "\x00" in path
        or any(part in ("", ".", "..") for part in parts)
        or (len(parts[0]) >= 2 and parts[0][1] == ":")  # a Windows drive, "C:"
    ):
        raise InvalidParameterError(
            f"{path!r} is not a valid manifest path: use a relative posix path without "
            "'.', '..', empty parts or backslashes",
            path=path,
        )
    return path


@dataclass(frozen=True)
class ManifestEntry:
    hash: str
    size: int
    mode: int = 0o644


@dataclass(frozen=True)
class Manifest:
    """A folder: relative posix path -> entry. Empty folders are not kept (as in git)."""

    entries: dict[str, ManifestEntry] = field(default_factory=dict)

    @property
    def total_size(self) -> int:
        """Bytes of all files, the size a person expects for the folder."""
        return sum(entry.size for entry in self.entries.values())

    def to_bytes(self) -> bytes:
        body = {
            "format": MANIFEST_FORMAT,
            "entries": {
                path: {"hash": e.hash, "size": e.size, "mode": e.mode}
                for path, e in self.entries.items()
            },
        }
        return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        """Parse and validate; ``INVALID_PARAMETER`` if ``data`` is not a manifest."""
        try:
            body = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise _not_manifest(f"it is not JSON ({exc})") from None
        if not isinstance(body, dict) or body.get("format") != MANIFEST_FORMAT:
            raise _not_manifest(f'it has no "format": "{MANIFEST_FORMAT}" field')
        raw = body.get("entries")
        if not isinstance(raw, dict):
            raise _not_manifest('its "entries" is not an object')
        return cls({check_relative_path(path): _entry(path, value) for path, value in raw.items()})


def _entry(path: str, value: Any) -> ManifestEntry:
    if not isinstance(value, Mapping):
        raise _not_manifest(f"the entry for {path!r} is not an object")
    size, mode = value.get("size"), value.get("mode")
    if not _is_int(size) or size < 0 or not _is_int(mode) or not 0 <= mode <= 0o7777:
        raise _not_manifest(f"the entry for {path!r} needs an integer size and mode")
    return ManifestEntry(check_hash(value.get("hash")), size, mode)


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _not_manifest(why: str) -> InvalidParameterError:
    return InvalidParameterError(f"not a loopml directory manifest: {why}")
