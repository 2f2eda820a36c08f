"""Triggers with an injected clock: cron ticks (no catch-up by default), new dataset versions
and monitoring alerts each make one event per key, and the store enforces it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

import loopml.data
from loopml.ct import Controller
from loopml.ct.controller import ct_store
from loopml.ct.triggers import collect, cron_ticks
from loopml.store.metadata.ct_base import CtStore
from tests.unit.ct.conftest import make_policy
from tests.unit.ct.support import DirectTrainer


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


@pytest.fixture
def store(project: Path) -> CtStore:
    return ct_store()


def test_cron_ticks_between_two_instants() -> None:
    ticks = cron_ticks("0 3 * * 1", ms("2026-11-02T03:00"), ms("2026-11-23T12:00"))
    assert ticks == [ms("2026-11-09T03:00"), ms("2026-11-16T03:00"), ms("2026-11-23T03:00")]
    assert cron_ticks("0 3 * * 1", ms("2026-11-23T03:00"), ms("2026-11-23T12:00")) == []


def test_cron_fires_once_per_tick_without_catch_up(store: CtStore) -> None:
    policy = make_policy(triggers=[{"cron": "0 3 * * 1"}])
    assert collect(store, policy, ms("2026-11-02T10:00")) == []  # first look: watermark only
    assert collect(store, policy, ms("2026-11-08T10:00")) == []  # no tick since
    events = collect(store, policy, ms("2026-11-09T03:00"))
    assert [e.key for e in events] == ["cron:0 3 * * 1@2026-11-09T03:00Z"]
    assert collect(store, policy, ms("2026-11-09T03:30")) == []  # the same tick: nothing new
    # three weeks down: only the newest missed tick fires
    events = collect(store, policy, ms("2026-12-01T08:00"))
    assert [e.key for e in events] == ["cron:0 3 * * 1@2026-11-30T03:00Z"]
    assert len(store.list_events("churn")) == 2


def test_cron_catch_up_when_asked(store: CtStore) -> None:
    policy = make_policy(triggers=[{"cron": "0 3 * * 1"}], catch_up=True)
    collect(store, policy, ms("2026-11-02T10:00"))
    events = collect(store, policy, ms("2026-11-24T00:00"))
    assert [e.detail["tick_ms"] for e in events] == [
        ms("2026-11-09T03:00"),
        ms("2026-11-16T03:00"),
        ms("2026-11-23T03:00"),
    ]


def test_controller_pass_with_a_fixed_clock(champion: str) -> None:
    trainer = DirectTrainer()
    c = Controller([make_policy(triggers=[{"cron": "0 3 * * 1"}])], trainer=trainer, alerts=None)
    assert c.run_once(now=datetime(2026, 11, 20, tzinfo=UTC)) == []
    made = c.run_once(now=datetime(2026, 11, 23, 3, 0, 5, tzinfo=UTC))
    assert made[0].step == "trigger" and "ticked at 2026-11-23T03:00Z" in made[0].reason
    assert trainer.calls == 1 and c.runs("churn")[0].state == "rolling_out"


def test_new_dataset_version_triggers(project: Path, store: CtStore) -> None:
    policy = make_policy(triggers=[{"new_data": "customers"}])
    assert collect(store, policy, 0) == []  # no dataset yet
    path = project / "customers.parquet"
    pd.DataFrame({"x": [1, 2]}).to_parquet(path)
    loopml.data.add(path, name="customers")
    assert collect(store, policy, 0) == []  # first look: v1 is the baseline
    pd.DataFrame({"x": [1, 2, 3]}).to_parquet(path)
    loopml.data.add(path, name="customers")
    events = collect(store, policy, 0)
    assert [e.key for e in events] == ["new_data:customers/2"]
    assert events[0].detail == {"dataset": "customers", "version": 2, "previous": 1}
    assert collect(store, policy, 0) == []


def test_new_data_run_trains_on_the_pinned_newest_version(champion: str) -> None:
    path = Path("customers.parquet")
    pd.DataFrame({"x": [1, 2]}).to_parquet(path)
    loopml.data.add(path, name="customers")
    policy = make_policy(
        triggers=[{"new_data": "customers"}],
        params={"kind": "good", "dataset": "data:/customers@latest"},
    )
    trainer = DirectTrainer()
    c = Controller([policy], trainer=trainer, alerts=None)
    c.run_once()
    pd.DataFrame({"x": [1, 2, 3]}).to_parquet(path)
    loopml.data.add(path, name="customers")
    c.run_once()
    run = c.runs("churn")[0]
    assert run.data["params"]["dataset"] == "data:/customers/2"
    data = next(d for d in c.history("churn") if d.step == "data")
    assert "dataset=data:/customers/2" in data.reason


@dataclass
class Alert:
    id: str
    deployment: str
    name: str
    created_ms: int
    severity: str = "warning"
    message: str = "drift share 0.40 > 0.30 for 2 windows"
    value: float = 0.4
    threshold: float = 0.3
    window_id: str | None = "w1"


class Alerts:
    """Alerts as ``loopml.monitoring.alerts.list_alerts`` returns them."""

    def __init__(self) -> None:
        self.alerts: list[Alert] = []
        self.calls: list[dict[str, Any]] = []

    def __call__(
        self, deployment: str | None = None, *, since_ms: int | None = None, name: str | None = None
    ) -> list[Alert]:
        self.calls.append({"deployment": deployment, "since_ms": since_ms, "name": name})
        return [
            a
            for a in self.alerts
            if a.deployment == deployment
            and a.name == name
            and (since_ms is None or a.created_ms >= since_ms)
        ]


def test_alert_storm_starts_exactly_one_run(champion: str) -> None:
    alerts = Alerts()
    trainer = DirectTrainer()
    policy = make_policy(triggers=[{"alert": "input_drift"}])
    c = Controller([policy], trainer=trainer, alerts=alerts)
    now = ms("2026-11-23T12:00")
    alerts.alerts = [Alert("a1", "churn-prod", "input_drift", now - 1000)] * 100
    alerts.alerts += [Alert("other", "churn-prod", "latency", now - 1000)]
    for _ in range(3):
        c.run_once(now=now)
    assert trainer.calls == 1 and len(c.runs("churn")) == 1
    assert [e.key for e in c.store.list_events("churn")] == ["alert:a1"]
    assert alerts.calls[0] == {
        "deployment": "churn-prod",
        "since_ms": now - 3_600_000,
        "name": "input_drift",
    }
    assert alerts.calls[-1]["since_ms"] == now - 1000


def test_one_event_per_key_is_a_database_constraint(store: CtStore) -> None:
    store.add_event("churn", "manual", "manual:x", "r", {})
    from loopml.store.metadata import schema_ct

    engine = store.engine  # type: ignore[attr-defined]
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(
            schema_ct.ct_events.insert().values(
                policy="churn",
                kind="manual",
                key="manual:x",
                reason="r",
                detail="{}",
                status="pending",
                created_ms=0,
            )
        )
    assert store.start_run("churn", "r1", "triggered", "why", []) is not None
    assert store.start_run("churn", "r2", "triggered", "why", []) is None
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(
            schema_ct.ct_runs.insert().values(
                run_id="r3",
                policy="churn",
                state="triggered",
                reason="",
                data="{}",
                created_ms=0,
                updated_ms=0,
            )
        )


def test_lease_keeps_a_second_controller_out(store: CtStore) -> None:
    assert store.acquire_lease("ct", "a", 60_000)
    assert not store.acquire_lease("ct", "b", 60_000)
    assert store.acquire_lease("ct", "a", 60_000)  # renewal
    store.release_lease("ct", "b")  # not b's: no effect
    assert store.lease_holder("ct") is not None and store.lease_holder("ct")[0] == "a"  # type: ignore[index]
    store.release_lease("ct", "a")
    assert store.acquire_lease("ct", "b", 1)
    import time

    time.sleep(0.01)
    assert store.acquire_lease("ct", "a", 60_000)  # b's lease expired


def test_run_updates_are_compare_and_set(store: CtStore) -> None:
    from loopml.errors import InvalidStateError

    run = store.start_run("churn", "r1", "triggered", "why", [])
    assert run is not None
    moved = store.update_run("r1", "triggered", state="training", data={"a": 1})
    assert moved.state == "training" and moved.data == {"a": 1}
    with pytest.raises(InvalidStateError, match="another controller moved it"):
        store.update_run("r1", "triggered", state="gating")
    done = store.update_run("r1", "training", state="failed", data={"b": 2})
    assert done.finished_ms is not None and done.data == {"a": 1, "b": 2}
    assert store.active_run("churn") is None


def test_alerts_from_the_monitoring_store_start_one_run(champion: str) -> None:
    import time

    from loopml.monitoring import _stores
    from loopml.monitoring.alerts import fire
    from loopml.store.metadata.monitoring_base import Alert as MonitoringAlert

    now = time.time_ns() // 1_000_000
    drift = MonitoringAlert(
        "churn-prod",
        "input_drift",
        "warning",
        "drift share 0.45 > 0.3",
        0.45,
        0.3,
        7,
        "drift_share > 0.3 for 2 windows",
    )
    fired = [fire(drift, now_ms=now) for _ in range(100)]  # monitoring's own dedup keeps one
    assert sum(a is not None for a in fired) == 1
    store = _stores.monitoring_store()
    for i in range(100):  # and 100 distinct stored alerts: still one retrain
        store.add_alert(
            MonitoringAlert(
                "churn-prod",
                "input_drift",
                "warning",
                f"storm {i}",
                window_id=100 + i,
                created_ms=now + i,
            )
        )
    store.add_alert(MonitoringAlert("churn-prod", "latency", "warning", "p99", created_ms=now))
    trainer = DirectTrainer()
    c = Controller([make_policy(triggers=[{"alert": "input_drift"}])], trainer=trainer)
    made = c.run_once()
    assert trainer.calls == 1 and len(c.runs("churn")) == 1
    events = c.store.list_events("churn")
    assert len(events) == 101 and all(e.kind == "alert" for e in events)
    assert {e.detail["alert"] for e in events} == {"input_drift"}
    first = next(d for d in made if d.step == "trigger")
    assert "alert input_drift on churn-prod: drift share 0.45 > 0.3" in first.reason
    assert first.numbers["value"] == 0.45 and first.numbers["threshold"] == 0.3
    c.run_once()
    assert trainer.calls == 1 and len(c.runs("churn")) == 1


def test_a_broken_trigger_is_logged_once_and_other_policies_go_on(champion: str) -> None:
    def broken(*_: object, **__: object) -> list[Alert]:
        raise RuntimeError("monitoring store unreachable")

    churn = make_policy(triggers=[{"alert": "input_drift"}])
    other = dataclasses.replace(make_policy(), name="other", deployment=None)
    trainer = DirectTrainer()
    c = Controller([churn, other], trainer=trainer, alerts=broken)
    c.trigger("other", "go")
    for _ in range(3):
        c.run_once()
    errors = [d for d in c.history("churn") if d.step == "error"]
    assert len(errors) == 1 and "RuntimeError: monitoring store unreachable" in errors[0].reason
    assert trainer.calls == 1 and c.runs("other")[0].state == "promoted"
