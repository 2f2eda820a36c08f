"""Monitoring in the demo: request-count windows over the payload log, and the drift alert.

Each window compares the inputs the deployment received with the training reference of the
model version that answered them (the dataset version its pipeline run read), feature by
feature; the alert rules read the stored windows. The demo computes windows as a scheduler
would, every half second, until the shift shows up as an ``input_drift`` alert.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from loopml.cli._output import console, esc
from loopml.cli.quickstart_project import DEPLOYMENT
from loopml.cli.quickstart_stages import PartMissingError, Stage

if TYPE_CHECKING:
    from loopml.cli.quickstart_demo import LoopState

__all__ = ["baseline", "wait_for_drift_alert"]

POLL_S = 0.5
FEEDBACK_BATCH = 1000
ALERT = "input_drift"
DRIFT_SHARE = 0.3  # the demo's rule: drift_share > 0.3 for 2 windows


def _windows_api() -> Any:
    try:
        from loopml.monitoring import windows
    except ImportError as exc:
        raise PartMissingError(f"loopml.monitoring is not available ({exc})") from None
    return windows


def _alerts_api() -> Any:
    try:
        from loopml.monitoring import alerts
    except ImportError as exc:
        raise PartMissingError(f"monitoring alerts are not available ({exc})") from None
    return alerts


def compute(state: LoopState, *, want: int = 1, timeout: float = 15.0) -> list[Any]:
    """New windows of the champion's requests (waiting up to ``timeout`` for ``want`` of
    them: payload files are flushed every half second)."""
    windows = _windows_api()
    made: list[Any] = []
    deadline = time.monotonic() + timeout
    while True:
        made += [w for w in windows.compute_windows(DEPLOYMENT) if _current(state, w)]
        if len(made) >= want or time.monotonic() > deadline:
            return made
        time.sleep(POLL_S)


def _current(state: LoopState, window: Any) -> bool:
    """A window of a version this run deployed (a rerun finds windows of earlier ones)."""
    mine = {state.outcome.champion_before, state.outcome.champion_after} - {None}
    return str(window.model_version) in {str(v) for v in mine}


def send_feedback(state: LoopState) -> int:
    """POST the true outcome of every answered request to the deployment's ``/feedback``, as
    a CRM would once it knows who churned; monitoring joins them into the windows."""
    import httpx

    labels = state.traffic.take_labels()
    items = [{"request_id": rid, "label": label} for rid, label in labels.items()]
    sent = 0
    with httpx.Client(base_url=str(state.outcome.url), timeout=30.0) as http:
        for start in range(0, len(items), FEEDBACK_BATCH):
            answer = http.post("/feedback", json=items[start : start + FEEDBACK_BATCH])
            if answer.status_code == 404:
                raise PartMissingError("the serving app has no /feedback route")
            answer.raise_for_status()
            sent += int(answer.json()["recorded"])
    return sent


def print_windows(windows: list[Any]) -> None:
    """One line per window: who answered, how many, and which features drifted."""
    for w in windows:
        share = w.drift_share
        drifted = ", ".join(w.drifted_features) or "none"
        style = "red" if share is not None and share > DRIFT_SHARE else "green"
        console().print(
            f"  window {w.id:>3}  v{esc(w.model_version)}  {w.requests:>4} requests  "
            f"[{style}]drift share {'n/a' if share is None else f'{share:.2f}'}[/]  "
            f"drifted: {esc(drifted)}  p99 {w.latency_p99_ms:.0f} ms"
            + ("" if w.accuracy is None else f"  accuracy {w.accuracy:.2f}"),
            soft_wrap=True,
        )


def baseline(state: LoopState, stage: Stage) -> str:
    """Windows over the traffic before the shift: no drift expected."""
    try:
        labelled = send_feedback(state)
        stage.say(f"the outcomes of {labelled} answered requests arrive (POST /feedback)")
        made = compute(state, want=max(1, state.profile.baseline_requests // state.profile.window))
    except PartMissingError as exc:
        stage.say(f"[yellow]monitoring skipped:[/] {esc(str(exc))}")
        return "monitoring not available"
    print_windows(made)
    drifted = [w for w in made if w.drift_share is not None and w.drift_share > DRIFT_SHARE]
    return (
        f"{len(made)} monitoring window{'s' if len(made) != 1 else ''} of "
        f"{state.profile.window} requests, {len(drifted)} over the drift bar"
    )


def wait_for_drift_alert(state: LoopState, stage: Stage) -> Any:
    """Evaluate the alert rules (which computes the new windows first) until ``input_drift``
    fires for the champion the demo deployed."""
    from loopml.errors import InvalidStateError

    alerts = _alerts_api()
    windows = _windows_api()
    limit = max(30.0, state.profile.ct_timeout_s / 2)
    deadline = time.monotonic() + limit
    since = int(time.time() * 1000) - 600_000
    shown: dict[int, Any] = {w.id: w for w in windows.list_windows(DEPLOYMENT, since_ms=since)}
    while True:
        send_feedback(state)
        fired = alerts.evaluate_alerts(DEPLOYMENT)
        new = [w for w in windows.list_windows(DEPLOYMENT, since_ms=since) if w.id not in shown]
        shown.update((w.id, w) for w in new)
        print_windows([w for w in new if _current(state, w)])
        scored = [
            w.accuracy for w in sorted(shown.values(), key=lambda w: w.id) if _current(state, w)
        ]
        if any(a is not None for a in scored):
            state.outcome.accuracy_before = [a for a in scored if a is not None][-1]
        found = None
        for alert in fired:
            stage.say(f"[red]alert[/] {esc(alert.name)}: {esc(alert.message)}")
            window = shown.get(alert.window_id)
            if alert.name == ALERT and window is not None and _current(state, window):
                found = found or alert
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise InvalidStateError(
                f"no {ALERT} alert within {limit:.0f}s of the shift; windows: "
                + ", ".join(f"{w.id} share {w.drift_share}" for w in shown.values())
            )
        time.sleep(POLL_S)


def after(state: LoopState, stage: Stage) -> Any:
    """The first full window answered by the new champion alone, with its labels: its inputs
    match its own training data, and its accuracy is back. None when monitoring is missing."""
    newest = str(state.outcome.champion_after)
    deadline = time.monotonic() + state.profile.ct_timeout_s / 2
    try:
        windows = _windows_api()
        while time.monotonic() < deadline:
            send_feedback(state)
            for w in windows.compute_windows(DEPLOYMENT):
                if str(w.model_version) == newest and w.requests >= state.profile.window * 0.9:
                    print_windows([w])
                    state.outcome.accuracy_after = w.accuracy
                    return w
            time.sleep(POLL_S)
    except PartMissingError as exc:
        stage.say(f"[yellow]monitoring skipped:[/] {esc(str(exc))}")
    return None
