"""Migrations build exactly the tables ``schema.py`` declares, and upgrades are idempotent."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from loopml.store.metadata import migrate
from loopml.store.metadata.engine import create_engine
from loopml.store.metadata.schema import metadata


def test_migrated_database_matches_schema(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    head = migrate.describe(migrate.heads())
    assert migrate.upgrade(engine) == (None, head)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    assert migrate.upgrade(engine) == (head, head)
    assert migrate.is_current(engine)
    engine.dispose()


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert int(conn.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0) >= 10_000
    engine.dispose()


def test_bad_database_urls_are_invalid_parameter(tmp_path: Path) -> None:
    import pytest

    from loopml.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="sqlite"):
        create_engine("not a url")
    with pytest.raises(InvalidParameterError, match="supports sqlite and postgresql"):
        create_engine("mysql://x@localhost/db")
    assert sa.make_url(f"sqlite:///{tmp_path}/x.db")
