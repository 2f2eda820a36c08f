"""Schema migrations, applied on first use and by ``loopml db upgrade``.

The fast path reads ``alembic_version`` with one query and does not import Alembic at all, so
opening an up-to-date store costs nothing. Upgrades run inside one write transaction (under an
advisory lock on PostgreSQL) so that processes starting together migrate exactly once.

Each package owns a branch of migrations that starts from ``0001`` (tracking): the server's
tables, the registry's and the data package's evolve independently, and the database is
current when every branch head is applied.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from loopml.store.metadata.engine import retrying, write_transaction

_LOCK_ID = 0x100B_313A
_SCRIPTS = Path(__file__).with_name("migrations")
_REVISION = re.compile(r"^revision\s*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN = re.compile(r"^down_revision\s*=\s*(.+)$", re.MULTILINE)


@functools.cache
def heads() -> frozenset[str]:
    """Head revisions of every branch, read from the scripts' text (no Alembic import)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (_SCRIPTS / "versions").glob("*.py"):
        text = script.read_text()
        rev = _REVISION.search(text)
        if rev is None:
            continue
        revisions.add(rev.group(1))
        down = _DOWN.search(text)
        if down is not None:
            parents.update(re.findall(r"['\"]([^'\"]+)['\"]", down.group(1)))
    return frozenset(revisions - parents)


def current_revisions(conn: Connection) -> frozenset[str]:
    if not sa.inspect(conn).has_table("alembic_version"):
        return frozenset()
    return frozenset(
        str(r[0]) for r in conn.exec_driver_sql("SELECT version_num FROM alembic_version")
    )


def describe(revisions: frozenset[str]) -> str | None:
    return ", ".join(sorted(revisions)) or None


def is_current(engine: Engine) -> bool:
    with engine.connect() as conn:
        return current_revisions(conn) == heads()


def upgrade(engine: Engine, revision: str = "heads") -> tuple[str | None, str | None]:
    """Bring the schema to ``revision`` (all branch heads by default); returns (before, after)."""

    def run() -> tuple[str | None, str | None]:
        from alembic import command
        from alembic.config import Config

        with write_transaction(engine) as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK_ID})")
            before = current_revisions(conn)
            if before == heads() and revision == "heads":
                return describe(before), describe(before)
            cfg = Config()
            cfg.set_main_option("script_location", str(_SCRIPTS))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
            return describe(before), describe(current_revisions(conn))

    return retrying(run)


def ensure_current(engine: Engine) -> None:
    if not is_current(engine):
        upgrade(engine)
