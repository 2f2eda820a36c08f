"""The contract suite runs once per metadata-store implementation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from loopml.store.metadata.base import MetadataStore
from loopml.store.metadata.sql import SqlMetadataStore
from tests.support.services import postgres_schema


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'loopml.db'}"
    else:
        with postgres_schema() as url:
            yield url


@pytest.fixture
def store(store_url: str) -> Iterator[MetadataStore]:
    s = SqlMetadataStore(store_url)
    yield s
    s.close()
