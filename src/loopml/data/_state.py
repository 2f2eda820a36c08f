"""The workspace's own small database, ``.loopml/data.db`` (SQLite, stdlib ``sqlite3``).

It is local state of one checkout, like git's index: the stat cache and the tracked paths.
Losing it loses nothing but time (the next ``add`` or ``status`` re-hashes), so it is kept out
of the metadata store, which may be a shared server.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from loopml.errors import PermissionDeniedError

FILE_NAME = "data.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS stat_cache (
    path TEXT PRIMARY KEY,
    inode INTEGER NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    hash TEXT NOT NULL,
    cached_ns INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tracked (
    path TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    manifest_hash TEXT NOT NULL,
    layout TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
);
"""


def connect(state_dir: Path) -> sqlite3.Connection:
    """Open (and create) the workspace database; one connection per thread that uses it."""
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            state_dir / FILE_NAME, timeout=60, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(_SCHEMA)
    except (PermissionError, sqlite3.Error) as exc:
        raise PermissionDeniedError(
            f"cannot write the workspace state in {state_dir}: {exc}", path=str(state_dir)
        ) from exc
    return conn
