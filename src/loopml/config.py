"""Where loopml keeps things, resolved once per process.

Precedence: explicit argument > environment variable (``LOOPML_*``) > project file
(``loopml.toml``, table ``[loopml]``) > default. The project is the nearest folder upward that
holds ``loopml.toml``, else the current folder, so scripts run from a sub-folder still log to the
project's store, as git commands find their repository.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from loopml.errors import InvalidParameterError

__all__ = ["PROJECT_FILE", "Settings", "find_project_root", "load_settings"]

PROJECT_FILE = "loopml.toml"
STATE_DIR = ".loopml"


def find_project_root(start: Path | None = None) -> Path:
    """The nearest folder upward from ``start`` holding ``loopml.toml``, else ``start``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / PROJECT_FILE).is_file():
            return folder
    return here


@dataclass(frozen=True)
class Settings:
    root: Path
    db_url: str
    object_store: str
    flush_interval: float = 1.0
    flush_max_points: int = 50_000
    project: dict[str, Any] = field(default_factory=dict)
    tracking_uri: str | None = None  # http(s)://host:port of a `loopml server`, else local

    @property
    def metadata_url(self) -> str:
        """Where metadata goes: the server when a tracking URI is set, else the database."""
        return self.tracking_uri or self.db_url

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _read_project_file(root: Path) -> dict[str, Any]:
    path = root / PROJECT_FILE
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidParameterError(f"{path} is not valid TOML: {exc}", path=str(path)) from exc


def _float(name: str, raw: Any) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise InvalidParameterError(f"{name} must be positive, got {raw!r}")
    return value


def _anchor_path(location: str, root: Path) -> str:
    """A relative local path in settings means relative to the project, not to the cwd."""
    if "://" in location:
        return location
    path = Path(location).expanduser()
    return str(path if path.is_absolute() else root / path)


def _anchor_sqlite(url: str, root: Path) -> str:
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url == prefix + ":memory:":
        return url
    path = Path(url[len(prefix) :]).expanduser()
    return url if path.is_absolute() else prefix + str(root / path)


def load_settings(
    *,
    root: Path | None = None,
    db_url: str | None = None,
    object_store: str | None = None,
    tracking_uri: str | None = None,
) -> Settings:
    """Resolve settings for the project at ``root`` (found upward from the cwd by default)."""
    env = os.environ
    root = find_project_root(root)
    project = _read_project_file(root)
    table: dict[str, Any] = project.get("loopml", {})
    state = root / STATE_DIR
    db = (
        db_url
        or env.get("LOOPML_DB_URL")
        or table.get("db_url")
        or f"sqlite:///{state / 'loopml.db'}"
    )
    objects = (
        object_store
        or env.get("LOOPML_OBJECT_STORE")
        or table.get("object_store")
        or str(state / "objects")
    )
    tracking = tracking_uri or env.get("LOOPML_TRACKING_URI") or table.get("tracking_uri") or None
    interval = _float(
        "LOOPML_FLUSH_INTERVAL", env.get("LOOPML_FLUSH_INTERVAL", table.get("flush_interval", 1.0))
    )
    db = _anchor_sqlite(str(db), root)
    objects = _anchor_path(str(objects), root)
    max_points = int(_float("flush_max_points", table.get("flush_max_points", 50_000)))
    return Settings(
        root=root,
        db_url=str(db),
        object_store=str(objects),
        flush_interval=interval,
        flush_max_points=max_points,
        project=project,
        tracking_uri=str(tracking) if tracking else None,
    )
