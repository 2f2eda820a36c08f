"""The controller's store on SQLite and PostgreSQL: its invariants hold under concurrency
(many threads racing for the same event, the same policy's run, the same lease)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from loopml.store.metadata.ct_sql import SqlCtStore
from loopml.store.metadata.sql import SqlMetadataStore
from tests.support.services import postgres_schema


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlCtStore]:
    if request.param == "sqlite":
        meta = SqlMetadataStore(f"sqlite:///{tmp_path / 'ct.db'}")
        yield SqlCtStore(meta.engine)
        meta.close()
    else:
        with postgres_schema() as url:
            meta = SqlMetadataStore(url)
            yield SqlCtStore(meta.engine)
            meta.close()


def race(n: int, fn: Callable[[int], Any]) -> list[Any]:
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def work(i: int) -> None:
        barrier.wait()
        results[i] = fn(i)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_racing_for_one_event_one_run_and_one_lease(store: SqlCtStore) -> None:
    added = race(8, lambda i: store.add_event("churn", "alert", "alert:1", f"r{i}", {}))
    assert sum(created for _, created in added) == 1
    assert len({event.id for event, _ in added}) == 1
    event = added[0][0]
    runs = race(8, lambda i: store.start_run("churn", f"run{i}", "triggered", "x", [event.id]))
    started = [r for r in runs if r is not None]
    assert len(started) == 1
    assert store.list_events("churn")[0].run_id == started[0].run_id
    leases = race(8, lambda i: store.acquire_lease("ct", f"holder{i}", 60_000))
    assert sum(leases) == 1
    assert store.acquire_lease("expired", "old", -1)  # a lease that has already run out
    taken = race(8, lambda i: store.acquire_lease("expired", f"new{i}", 60_000))
    assert sum(taken) == 1
    moved = race(
        4,
        lambda i: _try(lambda: store.update_run(started[0].run_id, "triggered", state="training")),
    )
    assert sum(m is not None for m in moved) == 1


def test_decisions_and_watermarks(store: SqlCtStore) -> None:
    store.set_watermark("churn", "cron:0 3 * * 1", "1")
    store.set_watermark("churn", "cron:0 3 * * 1", "2")
    assert store.get_watermark("churn", "cron:0 3 * * 1") == "2"
    assert store.get_watermark("churn", "new_data:x") is None
    for i in range(3):
        store.add_decision("churn", None, "gate", "fail", f"why {i}", {"n": i}, actor="ct")
    decisions = store.list_decisions("churn", limit=2)
    assert [d.numbers["n"] for d in decisions] == [1, 2]
    assert store.list_decisions("other") == []


def _try(fn: Callable[[], Any]) -> Any:
    from loopml.errors import InvalidStateError

    try:
        return fn()
    except InvalidStateError:
        return None


@pytest.mark.slow
@pytest.mark.postgres
def test_controller_promotes_on_postgres(project: Path) -> None:
    import loopml
    from loopml.ct import Controller
    from loopml.serving.deployments import create_deployment, deployment_store, get_deployment
    from loopml.store.metadata.deployments_base import RouteCounter
    from tests.unit.ct.conftest import make_policy
    from tests.unit.ct.support import DirectTrainer, log_and_register, make_table

    with postgres_schema() as url:
        loopml.configure(project, db_url=url)
        log_and_register("ok", make_table().iloc[:800])
        loopml.set_alias("churn", "champion", 1)
        create_deployment("churn-prod", "models:/churn@champion")
        c = Controller([make_policy()], trainer=DirectTrainer(), alerts=None)
        for _ in range(20):
            c.trigger("churn", "storm", key="same")
        c.run_once()
        assert [r.state for r in c.runs("churn")] == ["rolling_out"]
        deployment_store().add_counters(
            "churn-prod", [RouteCounter("canary", "models:/churn/2", 100, 0, 300.0)]
        )
        c.run_once()
        assert c.runs("churn")[0].state == "promoted"
        assert get_deployment("churn-prod").config["routes"] == [
            {"name": "main", "model": "models:/churn@champion", "weight": 100}
        ]
        c.close()
        loopml.configure(project)
