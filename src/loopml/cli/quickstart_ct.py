"""Continuous training in the demo: the controller of ``loopml ct run``, one pass at a time.

The demo drives :class:`loopml.ct.Controller` itself (``run_once`` in a loop, as ``loopml ct
run`` does), printing each decision as the controller records it: the triggers, the pinned
data, the pipeline run, every gate with its numbers, the canary and the promotion.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from loopml.cli._output import console, esc
from loopml.cli.quickstart_data import DATASET
from loopml.cli.quickstart_project import POLICY
from loopml.cli.quickstart_stages import PartMissingError, Stage

if TYPE_CHECKING:
    from loopml.cli.quickstart_demo import LoopState

__all__ = ["continuous_training", "start_controller"]

_STYLE = {"pass": "green", "fail": "red", "wait": "yellow", "info": "cyan"}
FINAL = ("promoted", "rolled_back", "rejected", "failed")
PASS_INTERVAL_S = 0.5


def start_controller(state: LoopState, stage: Stage) -> Any:
    """A controller for the project's policies, having seen data v1 (the champion's data)."""
    try:
        from loopml.ct import Controller, PipelineTrainer, load_policies
    except ImportError as exc:
        raise PartMissingError(f"loopml.ct is not available ({exc})") from None
    controller = Controller(load_policies(state.root), trainer=PipelineTrainer(state.root))
    # The champion was trained on v1 by this demo: v1 is not news to the new-data trigger
    # (on a rerun the controller last saw an older version and would retrain on v1).
    version = state.data_v1.rsplit("/", 1)[-1]
    controller.store.set_watermark(POLICY, f"new_data:{DATASET}", version)
    decisions = controller.run_once()
    for decision in decisions:
        show(decision)
    stage.say(
        f"CT controller watching policy ct.{POLICY} (its first pass: {len(decisions)} decisions)"
    )
    return controller


def show(decision: Any) -> None:
    style = _STYLE.get(decision.outcome, "white")
    console().print(
        f"  [{style}]{esc(decision.step):>10} {esc(decision.outcome):<4}[/] {esc(decision.reason)}",
        soft_wrap=True,
    )


def _run_of(controller: Any, started_after: int) -> Any:
    runs = [r for r in controller.runs(POLICY, limit=5) if r.created_ms >= started_after]
    return runs[0] if runs else None


def continuous_training(state: LoopState, stage: Stage) -> None:
    from loopml.errors import InvalidStateError

    controller = state.controller
    if controller is None:
        raise PartMissingError("the CT controller did not start")
    deadline = time.monotonic() + state.profile.ct_timeout_s
    since = state.shift_ms  # a run of this demo starts after the shift (not an earlier demo's)
    last_wait = ""
    run = None
    while True:
        for decision in controller.run_once():
            if decision.outcome == "wait":  # the canary's progress: only when it changes
                if decision.reason == last_wait:
                    continue
                last_wait = decision.reason
            show(decision)
        run = _run_of(controller, since)
        if run is not None and run.state in FINAL:
            break
        if time.monotonic() > deadline:
            where = "no run started" if run is None else f"run {run.run_id[:8]} is {run.state}"
            raise InvalidStateError(
                f"the loop did not close in {state.profile.ct_timeout_s:.0f}s: {where}"
            )
        time.sleep(PASS_INTERVAL_S)
    if run.state != "promoted":
        raise InvalidStateError(f"CT run {run.run_id[:8]} ended {run.state}: {run.outcome}")
    state.outcome.promoted_ms = int(run.finished_ms or run.updated_ms)
    champion = _champion_version()
    state.outcome.champion_after = champion
    took = state.outcome.alert_to_promotion_s
    stage.done(
        f"retrained on {state.data_v2}; {run.candidate} passed the gates, canary, promoted "
        f"(champion v{state.outcome.champion_before} -> v{champion}"
        + (f", {took:.1f}s after the alert)" if took is not None else ")"),
    )


def _champion_version() -> int:
    import loopml
    from loopml.cli.quickstart_project import MODEL

    return int(loopml.get_model_version(f"models:/{MODEL}@champion").version)
