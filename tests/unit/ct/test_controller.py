"""The controller end to end on real models, registry and deployments: gates with numbers,
canary promote and rollback, approvals, trigger storms and resuming after a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

import loopml
import loopml.registry
from loopml.ct import Controller
from loopml.serving.deployments import deployment_store, get_deployment
from loopml.store.metadata.audit_sql import SqlAuditLog
from loopml.store.metadata.deployments_base import RouteCounter
from tests.unit.ct.conftest import make_policy
from tests.unit.ct.support import DirectTrainer


def routes(name: str = "churn-prod") -> list[tuple[str, str, int]]:
    return [(r["name"], r["model"], r["weight"]) for r in get_deployment(name).config["routes"]]


def traffic(route: str, model: str, requests: int, errors: int = 0, ms: float = 5.0) -> None:
    """What a serving process's recorder adds to the deployment's live counters."""
    counter = RouteCounter(route, model, requests, errors, requests * ms)
    deployment_store().add_counters("churn-prod", [counter])


def controller(**policy_changes: object) -> tuple[Controller, DirectTrainer]:
    trainer = DirectTrainer()
    return Controller([make_policy(**policy_changes)], trainer=trainer, alerts=None), trainer


def steps(c: Controller) -> list[tuple[str, str]]:
    return [(d.step, d.outcome) for d in c.history("churn")]


def test_better_candidate_goes_canary_then_promoted(champion: str) -> None:
    c, _ = controller()
    traffic("canary", "models:/old/1", 40, 3)  # an earlier canary's counts: not this one's
    c.trigger("churn", "new marketing campaign")
    c.run_once()
    run = c.runs("churn")[0]
    assert run.state == "rolling_out" and run.candidate == "models:/churn/2"
    assert run.champion == "models:/churn/1"
    assert routes() == [("main", "models:/churn@champion", 90), ("canary", "models:/churn/2", 10)]
    traffic("canary", "models:/churn/2", 60)
    assert c.run_once()[-1].outcome == "wait"  # 60 of 100: waiting, progress logged
    assert c.runs("churn")[0].state == "rolling_out"
    traffic("canary", "models:/churn/2", 50, errors=1)
    c.run_once()
    run = c.runs("churn")[0]
    assert run.state == "promoted", run.outcome
    assert loopml.get_model_version("models:/churn@champion").version == 2
    assert routes() == [("main", "models:/churn@champion", 100)]
    assert loopml.get_model_version("churn", 2).tags["ct.status"] == "promoted"
    gates = {d.numbers["gate"]: d for d in c.history("churn") if d.step == "gate"}
    assert set(gates) == {"data_validation", "package", "improvement", "slices"}
    improvement = gates["improvement"].numbers
    assert improvement["candidate"] > improvement["champion"] + 0.01
    assert "on the same 400 holdout rows" in gates["improvement"].reason
    promote = c.history("churn")[-1]
    assert promote.step == "promote" and "110 canary requests" in promote.reason
    assert "error rate 0.91%" in promote.reason
    audit = SqlAuditLog(c.store.engine).query(target="ct/churn")  # type: ignore[attr-defined]
    actions = [a.action for a in reversed(audit)]
    assert actions[0] == "ct.trigger" and actions[-1] == "ct.promote"
    assert "ct.gate" in actions and "ct.rollout" in actions
    assert audit[0].actor == "loopml-ct" and "promoted" in audit[0].summary["reason"]


def test_worse_candidate_is_rejected_with_numbers(champion: str) -> None:
    c, _ = controller(params={"kind": "bad"})
    c.trigger("churn", "retrain")
    c.run_once()
    run = c.runs("churn")[0]
    assert run.state == "rejected"
    assert "improvement" in (run.outcome or "")
    failed = [d for d in c.history("churn") if d.step == "gate" and d.outcome == "fail"]
    assert [d.numbers["gate"] for d in failed] == ["improvement", "slices"]
    numbers = failed[0].numbers
    assert numbers["candidate"] < numbers["champion"] and numbers["rows"] == 400
    assert f"{numbers['candidate']:.4f} vs champion {numbers['champion']:.4f}" in failed[0].reason
    assert routes() == [("main", "models:/churn@champion", 100)]  # never went live
    assert loopml.get_model_version("models:/churn@champion").version == 1
    assert loopml.get_model_version("churn", 2).tags["ct.status"] == "rejected"


def test_candidate_worse_on_one_slice_is_rejected(champion: str) -> None:
    gates = {"min_improvement": -1.0, "max_slice_regression": 0.05, "slice_column": "plan"}
    c, _ = controller(params={"kind": "basic_only"}, gates=gates)
    c.trigger("churn", "retrain")
    c.run_once()
    assert c.runs("churn")[0].state == "rejected"
    slices = next(d for d in c.history("churn") if d.numbers.get("gate") == "slices")
    assert slices.outcome == "fail"
    table = slices.numbers["slices"]
    assert table["pro"]["regression"] > 0.05 and table["basic"]["regression"] < 0
    assert "plan=pro" in slices.reason and "plan=basic" not in slices.reason
    improvement = next(d for d in c.history("churn") if d.numbers.get("gate") == "improvement")
    assert improvement.outcome == "pass"


def test_canary_with_errors_is_rolled_back(champion: str) -> None:
    c, _ = controller()
    c.trigger("churn", "retrain")
    c.run_once()
    traffic("canary", "models:/churn/2", 30, errors=3)  # 3 errors > 2% of 100 already
    c.run_once()
    run = c.runs("churn")[0]
    assert run.state == "rolled_back"
    assert "error rate 10.00% (3 of 30 requests) exceeds max_error_rate 2.00%" in (
        run.outcome or ""
    )
    assert routes() == [("main", "models:/churn@champion", 100)]
    assert loopml.get_model_version("models:/churn@champion").version == 1
    assert loopml.get_model_version("churn", 2).tags["ct.status"] == "rejected"


def test_slow_canary_is_rolled_back_on_latency(champion: str) -> None:
    c, _ = controller(rollout={"min_requests": 50, "max_error_rate": 0.02, "max_p99_ms": 100})
    c.trigger("churn", "retrain")
    c.run_once()
    traffic("canary", "models:/churn/2", 50, ms=250.0)
    c.run_once()
    run = c.runs("churn")[0]
    assert run.state == "rolled_back"
    assert "mean latency 250.0 ms" in (run.outcome or "") and "max_p99_ms 100" in (
        run.outcome or ""
    )


def test_trigger_storm_starts_one_run(champion: str) -> None:
    c, trainer = controller()
    for _ in range(100):
        c.trigger("churn", "same alert", key="alert-42")
    for i in range(100):  # and 100 distinct events arriving before the pass
        c.store.add_event("churn", "alert", f"alert:{i}", "input_drift", {})
    c.run_once()
    assert trainer.calls == 1
    assert len(c.runs("churn")) == 1
    assert len(c.store.list_events("churn")) == 101
    for i in range(100, 150):  # alerts while the canary runs join it
        c.store.add_event("churn", "alert", f"alert:{i}", "input_drift", {})
    c.run_once()
    assert trainer.calls == 1 and len(c.runs("churn")) == 1
    statuses = {e.status for e in c.store.list_events("churn")}
    assert statuses == {"consumed", "coalesced"}


def test_approval_flow(champion: str) -> None:
    c, _ = controller(promotion="approval")
    c.trigger("churn", "retrain")
    c.run_once()
    run = c.runs("churn")[0]
    assert run.state == "awaiting_approval"
    assert routes() == [("main", "models:/churn@champion", 100)]
    c.run_once()
    assert c.runs("churn")[0].state == "awaiting_approval"  # still waiting, nothing moved
    loopml.approve_promotion("churn", 2, "challenger", reason="looks good")
    c.run_once()
    assert c.runs("churn")[0].state == "rolling_out"
    approval = next(d for d in c.history("churn") if d.step == "approval")
    assert approval.outcome == "pass" and "looks good" in approval.reason
    traffic("canary", "models:/churn/2", 100)
    c.run_once()
    assert c.runs("churn")[0].state == "promoted"
    assert loopml.get_model_version("models:/churn@champion").version == 2


def test_rejected_approval_ends_the_run(champion: str) -> None:
    c, _ = controller(promotion="approval")
    c.trigger("churn", "retrain")
    c.run_once()
    loopml.registry.reject_promotion(
        "churn", 2, "challenger", reason="wait for the campaign to end"
    )
    c.run_once()
    run = c.runs("churn")[0]
    assert run.state == "rejected" and "wait for the campaign to end" in (run.outcome or "")
    assert loopml.get_model_version("models:/churn@champion").version == 1


def test_restarted_controller_resumes_the_rollout(champion: str) -> None:
    c, trainer = controller()
    c.trigger("churn", "retrain")
    c.run_once()
    assert c.runs("churn")[0].state == "rolling_out"
    # a new controller (after a crash: the old lease is still held until it expires)
    fresh = Controller([make_policy()], trainer=trainer, alerts=None, lease_ttl_s=60)
    assert fresh.run_once() == []
    c.close()  # or the old lease expires
    traffic("canary", "models:/churn/2", 100)
    fresh.run_once()
    assert fresh.runs("churn")[0].state == "promoted" and trainer.calls == 1
    assert routes() == [("main", "models:/churn@champion", 100)]


def test_training_failures(champion: str) -> None:
    c, trainer = controller()
    trainer.fail = "validation"
    c.trigger("churn", "retrain")
    c.run_once()
    run = c.runs("churn")[0]
    assert run.state == "rejected" and "data validation failed" in (run.outcome or "")
    trainer.fail = "boom: out of memory"
    c.trigger("churn", "again")
    c.run_once()
    assert c.runs("churn")[0].state == "failed"
    assert "boom: out of memory" in (c.runs("churn")[0].outcome or "")


def test_first_model_without_champion_is_promoted_directly(project: Path) -> None:
    c, _ = controller()
    c.trigger("churn", "first model")
    c.run_once()
    run = c.runs("churn")[0]
    assert run.state == "promoted", run.outcome
    assert loopml.get_model_version("models:/churn@champion").version == 1
    assert routes() == [("main", "models:/churn@champion", 100)]


class Crash(BaseException):
    """A process death at an exact line (SIGKILL cannot aim that well); BaseException so no
    handler in the controller catches it."""


def test_crash_between_alias_move_and_route_change_resumes(
    champion: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loopml.ct import rollout

    c, trainer = controller()
    c.trigger("churn", "retrain")
    c.run_once()
    traffic("canary", "models:/churn/2", 100)

    def die(*_: object, **__: object) -> bool:
        raise Crash

    monkeypatch.setattr(rollout, "promote_canary", die)
    with pytest.raises(Crash):
        c.run_once()
    assert loopml.get_model_version("models:/churn@champion").version == 2  # moved already
    assert c.runs("churn")[0].data["phase"] == "promoting"
    monkeypatch.undo()
    c.close()
    fresh = Controller([make_policy()], trainer=trainer, alerts=None)
    fresh.run_once()
    assert fresh.runs("churn")[0].state == "promoted"
    assert routes() == [("main", "models:/churn@champion", 100)]
    assert [d.step for d in fresh.history("churn")].count("promote") == 1


def test_crash_after_canary_route_added_does_not_add_it_twice(
    champion: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loopml.ct import rollout_steps

    c, trainer = controller()
    c.trigger("churn", "retrain")
    real_move = rollout_steps.StepContext.move

    def move(self: rollout_steps.StepContext, run: object, state: str, **changes: object) -> object:
        if changes.get("data", {}).get("phase") == "watching":  # type: ignore[union-attr]
            raise Crash  # the canary route is in, the run does not know yet
        return real_move(self, run, state, **changes)  # type: ignore[arg-type]

    monkeypatch.setattr(rollout_steps.StepContext, "move", move)
    with pytest.raises(Crash):
        c.run_once()
    monkeypatch.undo()
    versions = len(deployment_store().list_versions("churn-prod"))
    c.close()
    fresh = Controller([make_policy()], trainer=trainer, alerts=None)
    fresh.run_once()
    assert len(deployment_store().list_versions("churn-prod")) == versions
    assert fresh.runs("churn")[0].data["phase"] == "watching"
    traffic("canary", "models:/churn/2", 100)
    fresh.run_once()
    assert fresh.runs("churn")[0].state == "promoted"


def test_a_broken_step_fails_the_run_instead_of_spinning(champion: str) -> None:
    c, trainer = controller()

    def broken_holdout(policy: object, run_id: object) -> object:
        raise ValueError("the holdout parquet is truncated")

    trainer.holdout = broken_holdout  # type: ignore[method-assign]
    c.trigger("churn", "retrain")
    c.run_once()
    run = c.runs("churn")[0]
    assert run.state == "failed"
    assert run.outcome == "gating failed: ValueError: the holdout parquet is truncated"

    def broken_train(policy: object, params: object) -> object:
        raise RuntimeError("executor lost")

    trainer.train = broken_train  # type: ignore[method-assign]
    c.trigger("churn", "again")
    c.run_once()
    c.run_once()
    run = c.runs("churn")[0]
    assert run.state == "failed" and "RuntimeError: executor lost" in (run.outcome or "")
    assert len(c.runs("churn")) == 2


def test_a_broken_rollout_rolls_the_canary_back(
    champion: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loopml.ct import rollout

    c, _ = controller()
    c.trigger("churn", "retrain")
    c.run_once()

    def broken(*args: object, **kw: object) -> object:
        raise OSError("counters unreadable")

    monkeypatch.setattr(rollout, "canary_stats", broken)
    c.run_once()
    run = c.runs("churn")[0]
    assert run.state == "rolled_back" and "counters unreadable" in (run.outcome or "")
    assert routes() == [("main", "models:/churn@champion", 100)]


def test_protected_champion_moves_only_with_an_approvers_consent(
    champion: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import loopml.registry

    loopml.registry.set_approval_policy("churn", "champion", approvers=["alice"])
    auto, trainer = controller()
    auto.trigger("churn", "retrain")
    auto.run_once()
    traffic("canary", "models:/churn/2", 100)
    auto.run_once()
    run = auto.runs("churn")[0]
    assert run.state == "rolled_back" and 'promotion = "approval"' in (run.outcome or "")
    assert loopml.get_model_version("models:/churn@champion").version == 1
    assert routes() == [("main", "models:/churn@champion", 100)]
    auto.close()

    gated = Controller([make_policy(promotion="approval")], trainer=trainer, alerts=None)
    gated.trigger("churn", "retrain with approval")
    gated.run_once()
    candidate = gated.runs("churn")[0].candidate
    assert candidate == "models:/churn/3"
    monkeypatch.setenv("LOOPML_USER", "alice")
    loopml.approve_promotion("churn", 3, "challenger", reason="campaign model")
    monkeypatch.delenv("LOOPML_USER")
    gated.run_once()
    traffic("canary", candidate, 100)
    gated.run_once()
    assert gated.runs("churn")[0].state == "promoted"
    champion_now = loopml.get_model_version("models:/churn@champion")
    assert champion_now.version == 3
    moved = [e for e in loopml.registry.model_history("churn") if e.alias == "champion"]
    assert moved[-1].actor == "alice"
