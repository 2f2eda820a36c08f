"""The live part of the loop: the deployment serving, client traffic, the shift, the alert.

Traffic starts once the deployment serves and never stops until the loop ends: the retrain,
the canary and the promotion all happen under load, as they would in production.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from loopml.cli._output import esc
from loopml.cli.quickstart_data import SHIFTED, TARGET, customers, features
from loopml.cli.quickstart_project import DEPLOYMENT, MODEL
from loopml.cli.quickstart_stages import Stage

if TYPE_CHECKING:
    from loopml.cli.quickstart_demo import LoopState

__all__ = ["after_promotion", "baseline_traffic", "drift_alert", "serve", "shift"]

CHAMPION_URI = f"models:/{MODEL}@champion"


def serve(state: LoopState, stage: Stage, stack: ExitStack) -> None:
    from loopml.cli import quickstart_ct
    from loopml.cli.quickstart_serve import ensure_deployment, serving
    from loopml.cli.quickstart_traffic import Traffic

    record = ensure_deployment(DEPLOYMENT, CHAMPION_URI)
    url = stack.enter_context(serving(DEPLOYMENT))
    state.outcome.url = url
    state.traffic = Traffic(url, rate=state.profile.rate, concurrency=state.profile.concurrency)
    stack.callback(state.traffic.stop)
    stage.say(
        f"deployment {DEPLOYMENT} v{record.version}: route main -> {CHAMPION_URI} (100%), "
        "payload logging on, hot reload on alias and config changes"
    )
    stage.say(f"serving on [bold]{esc(url)}[/] (a background thread of this process)")
    state.controller = quickstart_ct.start_controller(state, stage)
    stage.done(f"{url} serving {state.champion}")


def _stream(state: LoopState, seed: int, shifted: bool) -> tuple[Any, Any]:
    frame = customers(max(state.profile.rows, 1000), seed=seed, shifted=shifted)
    return features(frame), frame[TARGET]


def baseline_traffic(state: LoopState, stage: Stage) -> None:
    from loopml.cli import quickstart_monitor

    traffic = state.traffic
    rows, labels = _stream(state, 3000 + state.seed, shifted=False)
    traffic.switch("baseline", rows, labels)
    started = time.monotonic()
    traffic.start()
    got = traffic.wait_for(state.profile.baseline_requests)
    seconds = time.monotonic() - started
    stats = traffic.stats
    stage.say(
        f"{got} requests in {seconds:.1f}s ({got / seconds:.0f}/s from "
        f"{state.profile.concurrency} clients), one customer each: {stats.ok} ok, "
        f"{stats.failed} failed, p99 {stats.p99_ms():.1f} ms (client side)"
    )
    summary = quickstart_monitor.baseline(state, stage)
    stage.done(f"{got} requests, {stats.failed} failed; {summary}")


def shift(state: LoopState, stage: Stage) -> None:
    from loopml.cli.quickstart_demo import now_ms
    from loopml.cli.quickstart_train import add_customers

    state.shift_ms = now_ms()
    before, _ = _stream(state, 3000 + state.seed, shifted=False)
    rows, labels = _stream(state, 4000 + state.seed, shifted=True)
    state.traffic.switch("shifted", rows, labels)
    for column in SHIFTED:
        stage.say(f"{column}: mean {before[column].mean():.2f} -> {rows[column].mean():.2f}")
    snapshot = customers(state.profile.rows, seed=2000 + state.seed, shifted=True)
    version = add_customers(state.root, snapshot, "customers after the price change")
    state.data_v2 = f"data:/{version.name}/{version.version}"
    stage.say(
        f"a new snapshot of the customers with their outcomes: {state.data_v2} "
        f"({len(snapshot)} rows, churn rate {snapshot[TARGET].mean():.1%})"
    )
    got = state.traffic.wait_for(state.profile.shifted_requests)
    stage.done(
        f"price rise: {', '.join(SHIFTED)} shifted; {got} shifted requests; {state.data_v2}",
    )


def drift_alert(state: LoopState, stage: Stage) -> None:
    from loopml.cli import quickstart_monitor

    alert = quickstart_monitor.wait_for_drift_alert(state, stage)
    state.outcome.alert_ms = int(alert.created_ms)
    stage.done(f"{alert.name}: {alert.message}")


def after_promotion(state: LoopState, stage: Stage) -> None:
    from loopml.cli import quickstart_monitor
    from loopml.errors import InvalidStateError

    traffic = state.traffic
    newest = str(state.outcome.champion_after)
    started = time.monotonic()
    if not traffic.wait_served_by(newest):
        raise InvalidStateError(f"the deployment did not switch to v{newest} within 30s")
    stage.say(
        f"the server switched to v{newest} {time.monotonic() - started:.1f}s after the "
        "promotion (hot reload: no restart, no failed request)"
    )
    before = dict(traffic.stats.by_version)
    failed_before = traffic.stats.failed
    answered_before = traffic.answered()
    window = quickstart_monitor.after(state, stage)  # waits for a full window of v<newest>
    before_acc = state.outcome.accuracy_before
    if window is not None and window.accuracy is not None and before_acc is not None:
        stage.say(
            f"v{newest} alone on the new customers: accuracy {window.accuracy:.2f} "
            f"(v{state.outcome.champion_before} had {before_acc:.2f} on them)"
        )
    traffic.wait_for(state.profile.after_requests - (traffic.answered() - answered_before))
    got = traffic.answered() - answered_before
    after = traffic.stats.by_version
    served = {v: after[v] - before.get(v, 0) for v in after if after[v] - before.get(v, 0)}
    failed = traffic.stats.failed - failed_before
    stage.say(
        f"{got} requests since the switch: "
        + ", ".join(f"v{v} answered {n}" for v, n in sorted(served.items()))
        + f"; {failed} failed"
    )
    stats = traffic.stats
    total = stats.ok + stats.failed
    stage.say(
        f"over the whole demo: {total} requests, {stats.failed} failed; answered by "
        + ", ".join(f"v{v}: {n}" for v, n in sorted(stats.by_version.items()))
    )
    if stats.failed:
        raise InvalidStateError(
            f"{stats.failed} of {total} requests failed: "
            + "; ".join(f"{e} ({n}x)" for e, n in stats.errors.most_common(3))
        )
    shown = ", ".join(f"v{v} {n}" for v, n in sorted(served.items()))
    stage.done(f"{got} requests ({shown}), {failed} failed")
