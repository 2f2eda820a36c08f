"""The monitoring tables on SQLite and PostgreSQL: windows move with their cursor, a window is
stored once, feedback upserts, alerts filter, reference predictions are keyed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from loopml.errors import NotFoundError
from loopml.store.metadata.monitoring_base import Alert, NewWindow
from loopml.store.metadata.monitoring_sql import SqlMonitoringStore
from loopml.store.metadata.sql import SqlMetadataStore
from tests.support.services import postgres_schema


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlMonitoringStore]:
    def opened(url: str) -> Iterator[SqlMonitoringStore]:
        meta = SqlMetadataStore(url)
        yield SqlMonitoringStore(meta.engine)
        meta.close()

    if request.param == "sqlite":
        yield from opened(f"sqlite:///{tmp_path / 'm.db'}")
    else:
        with postgres_schema() as url:
            yield from opened(url)


def _window(start: int, version: str = "1") -> NewWindow:
    return NewWindow("svc", "1h", version, "models:/m/1", start, start + 10, 5, 50, {"values": {}})


def test_windows_and_cursor(store: SqlMonitoringStore) -> None:
    assert store.get_cursor("svc", "1h") is None
    made = store.add_windows([_window(0), _window(0, "2")], "svc", "1h", {"end_ms": 10})
    assert [w.model_version for w in made] == ["1", "2"] and made[0].id != made[1].id
    assert store.get_cursor("svc", "1h") == {"end_ms": 10}
    again = store.add_windows([_window(0)], "svc", "1h", {"end_ms": 10})
    assert [w.id for w in again] == [made[0].id]  # stored once
    store.add_windows([_window(10)], "svc", "1h", {"end_ms": 20})
    assert store.get_cursor("svc", "1h") == {"end_ms": 20}
    assert [w.start_ms for w in store.list_windows("svc", model_version="1")] == [0, 10]
    assert [w.start_ms for w in store.list_windows("svc", limit=1)] == [10]
    assert store.list_windows("svc", since_ms=10)[0].start_ms == 10
    store.update_window_metrics(made[0].id, {"values": {"accuracy": 0.9}}, 123)
    got = store.get_window(made[0].id)
    assert got.metrics == {"values": {"accuracy": 0.9}} and got.labels_ms == 123
    with pytest.raises(NotFoundError):
        store.get_window(10**9)


def test_feedback_alerts_and_references(store: SqlMonitoringStore) -> None:
    assert store.last_feedback_ms("svc") is None
    assert store.add_feedback("svc", [("a", 0, "1"), ("a", 1, "0"), ("b", 0, "1")]) == 3
    assert store.add_feedback("svc", [("a", 0, "0")]) == 1  # replaced, not duplicated
    assert sorted(store.get_feedback("svc", ["a", "b", "c"])) == [
        ("a", 0, "0"),
        ("a", 1, "0"),
        ("b", 0, "1"),
    ]
    assert store.last_feedback_ms("svc") is not None
    first = store.add_alert(Alert("svc", "input_drift", "warning", "m", 0.5, 0.3, 1, "r", 100))
    store.add_alert(Alert("other", "latency", "warning", "m", created_ms=200))
    assert [a.id for a in store.list_alerts("svc")] == [first.id]
    assert [a.name for a in store.list_alerts(since_ms=150)] == ["latency"]
    assert [a.deployment for a in store.list_alerts(name="input_drift")] == ["svc"]
    assert len(store.list_alerts(limit=1)) == 1
    assert store.get_reference("k") is None
    store.put_reference("k", "a" * 64)
    store.put_reference("k", "b" * 64)
    assert store.get_reference("k") == "b" * 64
