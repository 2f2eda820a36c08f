"""Dataset versions: ``add`` a file or folder, and look versions up by name, number or URI.

``add`` stores every file as a content-addressed object first, then the manifest, and records
the version last, in one transaction: a process killed at any point leaves either a complete
version or none (plus unreferenced objects that gc removes), never a version whose bytes are
missing. Adding content identical to the latest version returns that version.
"""

from __future__ import annotations

import getpass
import os
import re
import subprocess
from pathlib import Path
from typing import Any

from loopml.data import _state, _stores
from loopml.data._progress import progress_bar
from loopml.data.hashing import StatCache, execute, plan, scan
from loopml.data.ingest import open_ingest
from loopml.data.tables import table_info
from loopml.errors import InvalidParameterError, NotFoundError
from loopml.store.metadata.data_entities import DatasetSummary, DatasetVersion
from loopml.store.metadata.data_sql import check_dataset_name

__all__ = [
    "DatasetVersion",
    "add",
    "add_version",
    "get_version",
    "list_datasets",
    "list_versions",
    "parse_ref",
    "resolve",
    "set_profile",
]

_REF = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9_.\-]*?)(?:[@/](?P<version>\d+|latest))?$")


def add(
    path: str | os.PathLike[str],
    name: str | None = None,
    message: str | None = None,
    *,
    author: str | None = None,
    progress: bool | None = None,
    track: bool = True,
) -> DatasetVersion:
    """Version the file or folder at ``path`` as the next version of dataset ``name``.

    ``name`` defaults to the file or folder name without suffix. With ``track`` (the default)
    the workspace remembers the path, for ``status`` and ``checkout``.
    """
    return add_version(path, name, message, author=author, progress=progress, track=track)[0]


def add_version(
    path: str | os.PathLike[str],
    name: str | None = None,
    message: str | None = None,
    *,
    author: str | None = None,
    progress: bool | None = None,
    track: bool = True,
) -> tuple[DatasetVersion, bool]:
    """:func:`add`, also telling whether a new version was made (False: same as the latest)."""
    target = Path(os.path.abspath(path))  # noqa: PTH100 (keep links as the user named them)
    name = check_dataset_name(name or _default_name(target))
    layout, files = scan(target)
    if not files:
        raise InvalidParameterError(f"{target} holds no files: there is nothing to add")
    info = table_info(target, layout, [f.rel for f in files])

    ctx = _stores.context()
    objects = ctx.objects
    conn = _state.connect(ctx.settings.state_dir)
    try:
        cache = StatCache(conn)
        work = plan(target, files, cache, objects)
        ingest = open_ingest(objects, ctx.settings)
        with progress_bar(f"adding {name}", work.todo_bytes, enabled=progress) as advance:
            entries = execute(work, cache, ingest, on_progress=advance)
        ingest.finish()
        from loopml.store.objects import Manifest

        manifest = Manifest(entries)
        manifest_hash = objects.put_manifest(manifest).hash
        fields: dict[str, Any] = {
            "manifest_hash": manifest_hash,
            "layout": layout,
            "file_count": len(entries),
            "size": manifest.total_size,
            "message": message,
            "author": author or _user(),
            "git_commit": _git_commit(ctx.settings.root),
            "source_path": _shown_path(target, ctx.settings.root),
        }
        if info is not None:
            fields["table_format"], fields["num_rows"], fields["table_schema"] = info
        version, created = _stores.dataset_store(ctx).create_version(name, fields)
        if track:
            from loopml.data.workspace import Workspace

            Workspace(conn, ctx.settings.root).track(target, version)
    finally:
        conn.close()
    return version, created


def parse_ref(ref: str) -> tuple[str, int | None]:
    """``data:/n/3``, ``data:/n@latest``, ``n@3``, ``n/3``, ``n@latest`` or ``n`` -> (name, version)."""
    text = ref.strip()
    if text.startswith("data:/"):
        from loopml.uris import DataURI, parse_uri

        uri = parse_uri(text)
        assert isinstance(uri, DataURI)
        if uri.alias is not None and uri.alias != "latest":
            raise NotFoundError(
                f"{ref!r}: datasets have no alias {uri.alias!r}; use @latest or a version number",
                ref=ref,
            )
        return uri.name, uri.version
    match = _REF.match(text)
    if match is None:
        raise InvalidParameterError(
            f"{ref!r} is not a dataset version: use NAME, NAME@VERSION, NAME@latest or "
            "data:/NAME/VERSION",
            ref=ref,
        )
    version = match.group("version")
    return match.group("name"), None if version in (None, "latest") else int(version)


def resolve(ref: str | DatasetVersion) -> DatasetVersion:
    """The version a reference names (the latest when it names no number)."""
    if isinstance(ref, DatasetVersion):
        return ref
    name, version = parse_ref(ref)
    return _stores.dataset_store().get_version(name, version)


def set_profile(ref: str | DatasetVersion, profile: dict[str, Any] | None) -> DatasetVersion:
    """Store (or clear) the profile of a version, the one field written after the add."""
    version = resolve(ref)
    _stores.dataset_store().set_profile(version.name, version.version, profile)
    return _stores.dataset_store().get_version(version.name, version.version)


def get_version(name: str, version: int | None = None) -> DatasetVersion:
    return _stores.dataset_store().get_version(name, version)


def list_versions(name: str) -> list[DatasetVersion]:
    """Every version of ``name``, newest first."""
    return _stores.dataset_store().list_versions(name)


def list_datasets() -> list[DatasetSummary]:
    return _stores.dataset_store().list_datasets()


def _default_name(target: Path) -> str:
    stem = target.name.split(".", 1)[0] if target.is_file() else target.name
    cleaned = re.sub(r"[^A-Za-z0-9_.\-]", "-", stem).lstrip("-_.")
    if not cleaned:
        raise InvalidParameterError(
            f"cannot derive a dataset name from {target}: pass one with name=... (--name)"
        )
    return cleaned


def _shown_path(target: Path, root: Path) -> str:
    try:
        return target.relative_to(root).as_posix()
    except ValueError:
        return str(target)


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER")


def _git_commit(root: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--verify", "-q", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and commit else None
