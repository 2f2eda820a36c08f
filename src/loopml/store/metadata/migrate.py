"""Schema migrations, applied on first use and by ``loopml db upgrade``.

The fast path reads ``alembic_version`` with one query and does not import Alembic at all, so
opening an up-to-date store costs nothing. Upgrades run inside one write transaction (under an
advisory lock on PostgreSQL) so that processes starting together migrate exactly once.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from loopml.store.metadata.engine import retrying, write_transaction

HEAD = "0001"
_LOCK_ID = 0x100B_313A
_SCRIPTS = Path(__file__).with_name("migrations")


def current_revision(conn: Connection) -> str | None:
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    row = conn.exec_driver_sql("SELECT version_num FROM alembic_version").first()
    return None if row is None else str(row[0])


def is_current(engine: Engine) -> bool:
    with engine.connect() as conn:
        return current_revision(conn) == HEAD


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Bring the schema to ``revision``; returns (before, after)."""

    def run() -> tuple[str | None, str | None]:
        from alembic import command
        from alembic.config import Config

        with write_transaction(engine) as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK_ID})")
            before = current_revision(conn)
            if before == HEAD and revision == "head":
                return before, before
            cfg = Config()
            cfg.set_main_option("script_location", str(_SCRIPTS))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
            return before, current_revision(conn)

    return retrying(run)


def ensure_current(engine: Engine) -> None:
    if not is_current(engine):
        upgrade(engine)
