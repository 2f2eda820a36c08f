"""The contract suite runs once per metadata-store implementation: SQLite, PostgreSQL, and the
REST client talking to a real uvicorn server on 127.0.0.1 (its own database per test)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from loopml.store.metadata.base import MetadataStore
from loopml.tracking.context import open_metadata_store
from tests.support.services import postgres_schema


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the REST variant only in modules that declare ``REST_CONTRACT = True`` (stores with
    a REST client); the others keep their SQL variants."""
    dropped = [
        item
        for item in items
        if _param(item) == "rest"
        and not getattr(getattr(item, "module", None), "REST_CONTRACT", False)
    ]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


def _param(item: pytest.Item) -> object:
    callspec = getattr(item, "callspec", None)
    return None if callspec is None else callspec.params.get("store_url")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres), "rest"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'loopml.db'}"
    elif request.param == "postgres":
        with postgres_schema() as url:
            yield url
    else:
        from loopml.server import ServerConfig
        from loopml.server.run import serve_in_thread

        config = ServerConfig(
            db_url=f"sqlite:///{tmp_path / 'server.db'}", objects_url=str(tmp_path / "objects")
        )
        with serve_in_thread(config) as url:
            yield url


@pytest.fixture
def store(store_url: str) -> Iterator[MetadataStore]:
    s = open_metadata_store(store_url)
    yield s
    s.close()
