"""The ``rolling_out`` state, in phases recorded before they act:

``starting`` (baseline counters saved, canary route added) → ``watching`` (judge the canary's
numbers each pass) → ``promoting`` (champion alias moves, main route serves the candidate, canary
removed) or ``rolling_back`` (canary removed, candidate tagged rejected). Once ``promoting`` is
recorded the run can only end promoted, and once ``rolling_back`` is recorded only rolled back:
a restart repeats the phase's idempotent actions and never flips the verdict, so there is never
a half-promoted canary or a second champion.
"""

from __future__ import annotations

import time
from typing import Any

from loopml.ct import promotion, rollout
from loopml.ct.steps import StepContext
from loopml.errors import NotFoundError, PermissionDeniedError
from loopml.store.metadata.ct_base import CtRun
from loopml.store.metadata.deployments_base import DeploymentStore

__all__ = ["rolling_out"]


def _deployments() -> DeploymentStore:
    from loopml.serving.deployments import deployment_store

    return deployment_store()


def _exists(store: DeploymentStore, name: str) -> bool:
    try:
        store.get_deployment(name)
    except NotFoundError:
        return False
    return True


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


def rolling_out(ctx: StepContext, run: CtRun) -> CtRun | None:
    phase = run.data.get("phase")
    if phase == "promoting":
        return _promote(ctx, run)
    if phase == "rolling_back":
        return _rollback(ctx, run)
    dep = ctx.policy.deployment
    if phase is None:
        direct = None
        if dep is None:
            direct = "the policy names no deployment"
        elif run.champion is None:
            direct = "there is no champion yet to run a canary against"
        if direct is not None:
            ctx.decide(run, "rollout", "info", f"no canary: {direct}; promoting directly")
            return ctx.move(run, "rolling_out", data={"phase": "promoting", "verdict": direct})
    assert dep is not None and run.candidate is not None
    candidate = run.candidate
    store = _deployments()
    if phase is None:
        if not _exists(store, dep):
            return ctx.finish(
                run,
                "failed",
                "rollout",
                "fail",
                f"deployment {dep!r} does not exist: create it with `loopml deploy "
                f"create {dep} --model models:/<name>@champion`",
            )
        run = ctx.move(
            run,
            "rolling_out",
            data={
                "phase": "starting",
                "baseline": rollout.baseline(store, dep),
                "since_ms": _wall_ms(),
                "before_version": store.get_deployment(dep).version,
            },
        )
        phase = "starting"
    if phase == "starting":
        weight = ctx.policy.rollout.canary_weight
        version = rollout.start_canary(store, dep, candidate, weight)
        run = ctx.move(
            run, "rolling_out", data={"phase": "watching", "canary_version": version, "reported": 0}
        )
        ctx.decide(
            run,
            "rollout",
            "info",
            f"canary {run.candidate} gets {weight}% of {dep} traffic (deployment version "
            f"{version}); watching for {ctx.policy.rollout.min_requests} requests",
            {"deployment": dep, "canary_weight": weight, "deployment_version": version},
        )
    return _watch(ctx, run, store, dep)


def _watch(ctx: StepContext, run: CtRun, store: DeploymentStore, dep: str) -> CtRun | None:
    assert run.candidate is not None
    candidate = run.candidate
    policy = ctx.policy
    live = rollout.canary_model(store, dep)
    if live != candidate:
        why = f"the canary route of {dep} was changed outside the controller (now {live or 'none'})"
        run = ctx.move(run, "rolling_out", data={"phase": "rolling_back", "verdict": why})
        return run
    since = int(run.data.get("since_ms") or 0)
    stats = rollout.canary_stats(store, dep, candidate, run.data["baseline"], since, policy.rollout)
    elapsed = max(0.0, (_wall_ms() - since) / 1000)
    verdict, why = rollout.judge(policy.rollout, stats, elapsed)
    limits = policy.rollout.__dict__
    numbers: dict[str, Any] = {**stats.to_dict(), "elapsed_s": round(elapsed, 3), "limits": limits}
    if verdict == "wait":
        quarter = min(4, stats.requests * 4 // policy.rollout.min_requests)
        if quarter > int(run.data.get("reported") or 0):
            run = ctx.move(run, "rolling_out", data={"reported": quarter})
            ctx.decide(run, "rollout", "wait", why, numbers)
        return None
    phase = "promoting" if verdict == "promote" else "rolling_back"
    run = ctx.move(run, "rolling_out", data={"phase": phase, "verdict": why, "stats": numbers})
    ctx.decide(
        run,
        "rollout",
        "pass" if verdict == "promote" else "fail",
        f"canary {'passed' if verdict == 'promote' else 'failed'}: {why}",
        numbers,
    )
    return run


def _promote(ctx: StepContext, run: CtRun) -> CtRun | None:
    assert run.candidate is not None
    name, version = promotion.split(run.candidate)
    verdict = str(run.data.get("verdict") or "")
    try:
        approved_by = run.data.get("approved_by")
        promotion.move_champion(
            run.candidate,
            f"CT run {run.run_id}: {verdict}",
            str(approved_by) if approved_by else None,
        )
    except PermissionDeniedError as exc:
        why = (
            f"the champion alias is protected and the controller may not move it ({exc.message}); "
            'use promotion = "approval" so an approver consents'
        )
        return ctx.move(run, "rolling_out", data={"phase": "rolling_back", "verdict": why})
    dep = ctx.policy.deployment
    served = ""
    if dep is not None:
        store = _deployments()
        alias_uri = f"models:/{name}@{promotion.CHAMPION}"
        if _exists(store, dep):
            current = rollout.main_model(store, dep)
            main = current if current == alias_uri else run.candidate
            rollout.promote_canary(store, dep, main)
        else:
            main = alias_uri
            rollout.create(store, dep, main)
        served = f"; {dep} serves {main} at 100%, no canary"
    promotion.mark(run.candidate, "promoted", run.run_id)
    return ctx.finish(
        run,
        "promoted",
        "promote",
        "pass",
        f"{run.candidate} promoted: champion moved from "
        f"{run.champion or 'none'} to version {version}{served}; why: {verdict}",
        {
            "champion_before": run.champion,
            "champion_after": run.candidate,
            "stats": run.data.get("stats"),
        },
    )


def _rollback(ctx: StepContext, run: CtRun) -> CtRun | None:
    assert run.candidate is not None
    verdict = str(run.data.get("verdict") or "")
    dep = ctx.policy.deployment
    removed = False
    if dep is not None:
        store = _deployments()
        if _exists(store, dep):
            removed = rollout.remove_canary(store, dep, run.candidate)
    promotion.mark(run.candidate, "rejected", run.run_id)
    keeps = f"; {run.champion} keeps all of {dep}'s traffic" if dep else ""
    return ctx.finish(
        run,
        "rolled_back",
        "rollback",
        "fail",
        f"{run.candidate} rolled back: {verdict}{keeps}",
        {"canary_removed": removed, "stats": run.data.get("stats")},
    )
