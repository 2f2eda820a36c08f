"""The loop of ``loopml quickstart``, stage by stage, on the synthetic churn data.

data v1 -> pipeline file + CT policy -> pipeline run -> champion -> deployment served in the
background -> client traffic -> the customers shift (traffic and a new data version v2) ->
monitoring raises an input-drift alert -> the CT controller retrains on v2, gates the candidate,
rolls it out as a canary and promotes it -> traffic goes on, served by v2, without an error.

Every stage prints what it did and records a one-line result for the summary table; the numbers
that prove the loop closed (alert, promotion, failed requests) are kept in :class:`Outcome`.
"""

from __future__ import annotations

import shlex
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loopml.cli._output import console, esc
from loopml.cli.quickstart_project import DEPLOYMENT, MODEL, POLICY, Profile
from loopml.cli.quickstart_stages import PartMissingError, Stages

__all__ = ["EXPERIMENT", "LoopState", "Outcome", "run_loop"]

EXPERIMENT = "churn"

STAGES = (
    "customer data",
    "pipeline and CT policy",
    "train the champion",
    "serve churn-prod",
    "traffic",
    "the customers shift",
    "drift alert",
    "continuous training",
    "after the promotion",
)
# Stages the rest can do without: with no monitoring, the new data version alone triggers CT.
OPTIONAL = frozenset({"drift alert"})


@dataclass
class Outcome:
    """What the loop did, for the closing lines, the exit code and the tests."""

    failed: bool = False
    url: str | None = None
    alert_ms: int | None = None
    promoted_ms: int | None = None
    champion_before: int | None = None
    champion_after: int | None = None
    accuracy_before: float | None = None  # the old champion on the shifted customers
    accuracy_after: float | None = None  # the new champion on them
    requests: int = 0
    failed_requests: int = 0
    by_version: dict[str, int] = field(default_factory=dict)

    @property
    def alert_to_promotion_s(self) -> float | None:
        if self.alert_ms is None or self.promoted_ms is None:
            return None
        return (self.promoted_ms - self.alert_ms) / 1000

    def print_timing(self) -> None:
        out = console()
        took = self.alert_to_promotion_s
        if took is not None:
            out.print(
                f"[bold]From the drift alert to the promoted canary: {took:.1f}s[/] "
                f"(champion v{self.champion_before} -> v{self.champion_after})"
            )
        if self.accuracy_before is not None and self.accuracy_after is not None:
            out.print(
                f"[bold]Accuracy on the new customers (labels via /feedback): "
                f"v{self.champion_before} {self.accuracy_before:.2f} -> "
                f"v{self.champion_after} {self.accuracy_after:.2f}[/]"
            )
        if self.requests:
            out.print(
                f"[bold]Client traffic: {self.requests} requests, {self.failed_requests} "
                "failed[/] ("
                + ", ".join(f"v{v} answered {n}" for v, n in sorted(self.by_version.items()))
                + ")"
            )

    def print_next(self, target: Path) -> None:
        out = console()
        c = shlex.quote(str(target))
        steps = [
            (
                "every decision of the controller, with its reasons and numbers",
                f"loopml ct history {POLICY} -C {c}",
            ),
            (
                "the monitoring windows: drift per feature, latency, errors",
                f"loopml monitor status {DEPLOYMENT} -C {c}",
            ),
            ("the alerts it raised", f"loopml alerts list -C {c}"),
            ("the pipeline runs: the first model and the retrain", f"loopml pipeline runs -C {c}"),
            (
                "the deployment's routes and counters, and its history",
                f"loopml deploy show {DEPLOYMENT} -C {c}",
            ),
            ("the model versions and where @champion points", f"loopml models show {MODEL} -C {c}"),
            ("the data versions", f"loopml data log customers -C {c}"),
            ("the files the demo wrote: the pipeline and the policy", f"{c}/pipelines/training.py"),
            ("", f"{c}/loopml.toml"),
            (
                "serve the deployment yourself",
                f"loopml deploy serve {DEPLOYMENT} -C {c} --port 8080",
            ),
            (
                "the team server over this project; browse its API at http://127.0.0.1:5000/docs",
                f"loopml server -C {c}",
            ),
        ]
        out.print("\n[bold]Inspect the loop[/]")
        for label, command in steps:
            if label:
                out.print(f"  [dim]# {label}[/]")
            out.print(f"  {esc(command)}", soft_wrap=True)


@dataclass
class LoopState:
    """What one stage hands to the next."""

    root: Path
    profile: Profile
    stages: Stages
    outcome: Outcome
    data_v1: str = ""  # data:/customers/N
    data_v2: str = ""
    champion: str = ""  # models:/churn/N
    traffic: Any = None
    controller: Any = None
    seed: int = 0  # varies per rerun so that each run brings new data
    shift_ms: int = 0  # when the customers shifted


def run_loop(root: Path, stages: Stages, profile: Profile) -> Outcome:
    """Run the loop's stages in order; a missing part skips the rest, an error stops it."""
    import loopml
    from loopml.cli import quickstart_ct, quickstart_live, quickstart_train

    loopml.set_experiment(EXPERIMENT)  # pipeline runs, the first and every retrain
    state = LoopState(root, profile, stages, Outcome())
    plan = [
        (STAGES[0], quickstart_train.data_v1),
        (STAGES[1], quickstart_train.project_files),
        (STAGES[2], quickstart_train.train_v1),
        (STAGES[3], None),  # entered below: the server lives until the loop ends
        (STAGES[4], quickstart_live.baseline_traffic),
        (STAGES[5], quickstart_live.shift),
        (STAGES[6], quickstart_live.drift_alert),
        (STAGES[7], quickstart_ct.continuous_training),
        (STAGES[8], quickstart_live.after_promotion),
    ]
    try:
        with ExitStack() as stack:
            _run_stages(state, plan, stack)
            if state.traffic is not None:
                state.traffic.stop()
                stats = state.traffic.stats
                state.outcome.requests = stats.ok + stats.failed
                state.outcome.failed_requests = stats.failed
                state.outcome.by_version = dict(stats.by_version)
    finally:
        if state.controller is not None:
            state.controller.close()  # give the lease back: the next controller need not wait
    return state.outcome


def _run_stages(state: LoopState, plan: list[tuple[str, Any]], stack: ExitStack) -> None:
    from loopml.cli import quickstart_live

    stages = state.stages
    for i, (title, body) in enumerate(plan):
        try:
            with stages.stage(title) as stage:
                if body is None:
                    quickstart_live.serve(state, stage, stack)
                else:
                    body(state, stage)
        except Exception as exc:
            _failed(exc)
            state.outcome.failed = True
            for later, _ in plan[i + 1 :]:
                stages.skip(later, f"not run: {title} failed")
            return
        if not stages.ok(title) and title not in OPTIONAL:
            for later, _ in plan[i + 1 :]:
                stages.skip(later, f"needs {title}")
            return


def _failed(exc: Exception) -> None:
    from loopml.errors import LoopmlError

    out = console()
    if isinstance(exc, LoopmlError | PartMissingError):
        out.print(f"  [red]error:[/] {esc(str(exc))}", soft_wrap=True)
    else:
        out.print_exception(max_frames=8)


def now_ms() -> int:
    return time.time_ns() // 1_000_000
