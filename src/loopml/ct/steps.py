"""One step of a run's state machine per call: act, record the decision, move the state.

``step`` returns the run in its new state, or None while it waits (for an approver or for
canary traffic). State moves are compare-and-set, so two controllers can never both move a run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loopml.ct import promotion
from loopml.ct.gates import GateResult, check_models, check_package
from loopml.ct.policy import Policy
from loopml.ct.training import pin_data_params
from loopml.errors import LoopmlError, NotFoundError
from loopml.store.metadata.ct_base import CtRun

if TYPE_CHECKING:
    from loopml.ct.controller import Controller

__all__ = ["StepContext", "step"]


@dataclass
class StepContext:
    controller: Controller
    policy: Policy
    now_ms: int

    def decide(
        self,
        run: CtRun,
        step: str,
        outcome: str,
        reason: str,
        numbers: dict[str, Any] | None = None,
    ) -> None:
        self.controller._decide(self.policy.name, run.run_id, step, outcome, reason, numbers)

    def move(self, run: CtRun, state: str, **changes: Any) -> CtRun:
        return self.controller.store.update_run(run.run_id, run.state, state=state, **changes)

    def finish(
        self,
        run: CtRun,
        state: str,
        step: str,
        outcome: str,
        reason: str,
        numbers: dict[str, Any] | None = None,
    ) -> CtRun:
        self.decide(run, step, outcome, reason, numbers)
        return self.move(run, state, outcome=reason)


def _triggered(ctx: StepContext, run: CtRun) -> CtRun | None:
    params, pinned = pin_data_params(dict(ctx.policy.params))
    if pinned:
        shown = ", ".join(f"{k}={v}" for k, v in pinned.items())
        ctx.decide(run, "data", "info", f"newest data pinned for this run: {shown}", pinned)
    return ctx.move(run, "training", data={"params": params, "pinned": pinned})


def _training(ctx: StepContext, run: CtRun) -> CtRun | None:
    policy = ctx.policy
    result = ctx.controller.trainer.train(policy, dict(run.data.get("params") or policy.params))
    numbers = {
        "pipeline_run_id": result.pipeline_run_id,
        "tracking_run_id": result.tracking_run_id,
        "status": result.status,
        "registered": result.registered,
    }
    if result.status != "FINISHED":
        if result.validation_failed and policy.gates.data_validation:
            return ctx.finish(
                run,
                "rejected",
                "gate",
                "fail",
                f"data validation failed: {result.error}",
                {**numbers, "gate": "data_validation"},
            )
        return ctx.finish(
            run,
            "failed",
            "training",
            "fail",
            f"pipeline {policy.pipeline} failed: {result.error}",
            numbers,
        )
    if not result.registered:
        return ctx.finish(
            run,
            "rejected",
            "training",
            "fail",
            f"pipeline run {result.pipeline_run_id} registered no model (its "
            "register_if gate did not pass)",
            numbers,
        )
    candidate = result.registered[-1]
    champion = promotion.champion_uri(candidate)
    ctx.decide(
        run,
        "training",
        "pass",
        f"pipeline run {result.pipeline_run_id} finished and registered {candidate}; "
        f"champion is {champion or 'none yet'}",
        numbers,
    )
    return ctx.move(
        run,
        "gating",
        pipeline_run_id=result.pipeline_run_id,
        candidate=candidate,
        champion=champion,
        data={"tracking_run_id": result.tracking_run_id},
    )


def _gates(ctx: StepContext, run: CtRun) -> list[GateResult]:
    policy = ctx.policy
    assert run.candidate is not None
    results: list[GateResult] = []
    if policy.gates.data_validation:
        results.append(
            GateResult(
                "data_validation",
                True,
                "data validation passed: the pipeline ran to the end with no DataValidationError",
                {"pipeline_run_id": run.pipeline_run_id},
            )
        )
    try:
        holdout = ctx.controller.trainer.holdout(policy, run.pipeline_run_id)
    except LoopmlError as exc:
        reason = f"cannot read the holdout {policy.holdout!r}: {exc.message}"
        return [*results, GateResult("holdout", False, reason)]
    package = check_package(run.candidate, holdout, policy.label)
    results.append(package)
    if not package.passed:
        return results
    try:
        results += check_models(policy, run.candidate, run.champion, holdout)
    except LoopmlError as exc:
        results.append(
            GateResult(
                "improvement",
                False,
                f"cannot compare on the holdout {policy.holdout!r}: {exc.message}",
            )
        )
    return results


def _gating(ctx: StepContext, run: CtRun) -> CtRun | None:
    results = _gates(ctx, run)
    for r in results:
        ctx.decide(
            run,
            "gate",
            "pass" if r.passed else "fail",
            f"{r.gate}: {r.reason}",
            {"gate": r.gate, **r.numbers},
        )
    failed = [r for r in results if not r.passed]
    assert run.candidate is not None
    if failed:
        promotion.mark(run.candidate, "rejected", run.run_id)
        why = "; ".join(f"{r.gate}: {r.reason}" for r in failed)
        return ctx.finish(
            run,
            "rejected",
            "reject",
            "fail",
            f"{run.candidate} not promoted: {why}",
            {"failed": [r.gate for r in failed]},
        )
    if ctx.policy.promotion == "approval":
        request = promotion.request_approval(run.candidate, run.run_id)
        name, version = promotion.split(run.candidate)
        ctx.decide(
            run,
            "promotion",
            "wait",
            f"gates passed; waiting for an approver: `loopml models approve {name} "
            f"{version} --to {promotion.CHALLENGER}` (or reject with a reason)",
            {"request_id": request.request_id, "alias": promotion.CHALLENGER},
        )
        return ctx.move(run, "awaiting_approval", data={"request_id": request.request_id})
    ctx.decide(run, "promotion", "pass", "gates passed; promotion is auto: rolling out")
    return ctx.move(run, "rolling_out")


def _awaiting(ctx: StepContext, run: CtRun) -> CtRun | None:
    request = promotion.get_request(str(run.data["request_id"]))
    status = str(request.status)
    numbers = {
        "request_id": request.request_id,
        "decided_by": request.decided_by,
        "reason": request.decision_reason,
    }
    if status == "PENDING":
        return None
    if status == "APPROVED":
        ctx.decide(
            run,
            "approval",
            "pass",
            f"approved by {request.decided_by or '?'}"
            + (f": {request.decision_reason}" if request.decision_reason else ""),
            numbers,
        )
        return ctx.move(run, "rolling_out", data={"approved_by": request.decided_by})
    assert run.candidate is not None
    promotion.mark(run.candidate, "rejected", run.run_id)
    return ctx.finish(
        run,
        "rejected",
        "approval",
        "fail",
        f"{status.lower()} by {request.decided_by or '?'}: "
        f"{request.decision_reason or 'no reason given'}",
        numbers,
    )


_STEPS: dict[str, Callable[[StepContext, CtRun], CtRun | None]] = {
    "triggered": _triggered,
    "training": _training,
    "gating": _gating,
    "awaiting_approval": _awaiting,
}


def step(ctx: StepContext, run: CtRun) -> CtRun | None:
    if run.state == "rolling_out":
        from loopml.ct.rollout_steps import rolling_out

        return rolling_out(ctx, run)
    fn = _STEPS.get(run.state)
    if fn is None:
        raise NotFoundError(f"controller run {run.run_id} is in unknown state {run.state!r}")
    return fn(ctx, run)
