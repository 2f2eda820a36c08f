"""Engines tuned for many writers: SQLite in WAL mode with immediate write locks, or PostgreSQL.

SQLite's "database is locked" comes from two places: a writer that outwaits ``busy_timeout``
and a deferred transaction that tries to upgrade a read lock into a write lock (SQLite refuses
at once to avoid a deadlock). Write transactions here begin ``IMMEDIATE`` so they queue on the
busy handler instead, and :func:`retrying` covers what is left.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from loopml.errors import InvalidParameterError, StoreUnavailableError

T = TypeVar("T")
WRITE = "loopml_write"
_BUSY_MS = 60_000


def _sqlite_path(url: sa.URL) -> Path | None:
    db = url.database
    return None if not db or db == ":memory:" else Path(db)


def create_engine(url: str) -> Engine:
    """An engine for ``url`` with the settings every loopml connection needs."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise InvalidParameterError(
            f"{url!r} is not a database URL; use sqlite:///path/to/loopml.db or "
            "postgresql+psycopg://user@host:5432/db"
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        path = _sqlite_path(parsed)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            parsed,
            connect_args={"timeout": _BUSY_MS / 1000, "check_same_thread": False},
            poolclass=sa.pool.QueuePool if path is not None else sa.pool.StaticPool,
        )
        _configure_sqlite(engine)
        return engine
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            return sa.create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=10)
        except ModuleNotFoundError as exc:
            raise InvalidParameterError(
                "PostgreSQL needs the psycopg driver: pip install 'loopml[postgres]'"
            ) from exc
    raise InvalidParameterError(
        f"unsupported database {backend!r} in {url!r}: loopml supports sqlite and postgresql"
    )


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _is_transient(exc: sa.exc.DBAPIError) -> bool:
    text = str(exc.orig).lower()
    return (
        "database is locked" in text
        or "database is busy" in text
        or "deadlock detected" in text
        or "could not serialize" in text
        or exc.connection_invalidated
    )


def retrying(fn: Callable[[], T], attempts: int = 8) -> T:
    """Run ``fn`` again, with jittered backoff, when the database reports a transient conflict."""
    delay = 0.02
    for attempt in range(attempts):
        try:
            return fn()
        except sa.exc.OperationalError as exc:
            if attempt == attempts - 1 or not _is_transient(exc):
                raise StoreUnavailableError(f"the metadata database failed: {exc.orig}") from exc
        except sa.exc.DBAPIError as exc:
            if attempt == attempts - 1 or not _is_transient(exc):
                raise
        time.sleep(delay * (1 + random.random()))
        delay = min(delay * 2, 1.0)
    raise AssertionError("unreachable")  # pragma: no cover


@contextlib.contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a write transaction (``BEGIN IMMEDIATE`` on SQLite), committed on exit."""
    with engine.connect() as conn:
        conn.execution_options(**{WRITE: True})
        with conn.begin():
            yield conn


class Transactions:
    """``_read`` / ``_write`` for the SQL stores: one operation, one transaction, retried while
    SQLite is busy or PostgreSQL reports a serialization failure."""

    engine: Engine

    def _write(self, fn: Callable[[Connection], T]) -> T:
        def attempt() -> T:
            with write_transaction(self.engine) as conn:
                return fn(conn)

        return retrying(attempt)

    def _read(self, fn: Callable[[Connection], T]) -> T:
        def attempt() -> T:
            with self.engine.connect() as conn:
                return fn(conn)

        return retrying(attempt)
