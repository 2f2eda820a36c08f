"""Trigger events: each cron tick, dataset version, alert or manual request becomes one event
with a key, recorded once.

The key makes triggering idempotent: ``cron:<expr>@<tick>``, ``new_data:<name>/<version>``,
``alert:<id>``, ``manual:<key>``. The store refuses a second event with the same key, so an
event seen by two passes (or two controllers) is one event. A watermark per trigger remembers
what was already seen; the first look sets it without firing, so starting the controller does
not retrain on last week's tick. Catch-up is off by default: after downtime only the newest
missed cron tick fires.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from loopml.ct.policy import Policy, Trigger
from loopml.errors import NotFoundError
from loopml.store.metadata.ct_base import CtEvent, CtStore

__all__ = ["ALERT_LOOKBACK_MS", "MAX_CATCH_UP", "AlertSource", "collect", "cron_ticks"]

log = logging.getLogger("loopml.ct")

ALERT_LOOKBACK_MS = 3_600_000  # on first look, alerts of the last hour count
MAX_CATCH_UP = 100

AlertSource = Callable[..., list[Any]]


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%MZ")


def cron_ticks(expr: str, after_ms: int, now_ms: int) -> list[int]:
    """Ticks of ``expr`` in (after_ms, now_ms], oldest first, at most ``MAX_CATCH_UP``."""
    from croniter import croniter

    # one millisecond past now, so a tick at exactly ``now_ms`` counts as passed
    it = croniter(expr, datetime.fromtimestamp((now_ms + 1) / 1000, UTC))
    ticks: list[int] = []
    while len(ticks) < MAX_CATCH_UP:
        tick = int(it.get_prev(datetime).timestamp() * 1000)
        if tick <= after_ms:
            break
        ticks.append(tick)
    return ticks[::-1]


def _cron(store: CtStore, policy: Policy, trigger: Trigger, now_ms: int) -> list[CtEvent]:
    mark_key = f"cron:{trigger.value}"
    mark = store.get_watermark(policy.name, mark_key)
    if mark is None:  # first look: remember the newest tick, fire nothing
        store.set_watermark(policy.name, mark_key, str(now_ms))
        return []
    ticks = cron_ticks(trigger.value, int(mark), now_ms)
    if not ticks:
        return []
    if not policy.catch_up:
        ticks = ticks[-1:]
    events = []
    for tick in ticks:
        event, created = store.add_event(
            policy.name,
            "cron",
            f"cron:{trigger.value}@{_iso(tick)}",
            f"schedule '{trigger.value}' ticked at {_iso(tick)}",
            {"cron": trigger.value, "tick_ms": tick},
        )
        if created:
            events.append(event)
    store.set_watermark(policy.name, mark_key, str(ticks[-1]))
    return events


def _new_data(store: CtStore, policy: Policy, trigger: Trigger) -> list[CtEvent]:
    from loopml.data.versions import get_version

    name = trigger.value
    try:
        latest = get_version(name)
    except NotFoundError:
        return []  # no version yet: nothing new
    mark_key = f"new_data:{name}"
    mark = store.get_watermark(policy.name, mark_key)
    store.set_watermark(policy.name, mark_key, str(latest.version))
    if mark is None or latest.version <= int(mark):
        return []
    event, created = store.add_event(
        policy.name,
        "new_data",
        f"new_data:{name}/{latest.version}",
        f"new version {latest.version} of dataset {name!r} (previous seen: {mark})",
        {"dataset": name, "version": latest.version, "previous": int(mark)},
    )
    return [event] if created else []


def _alerts(
    store: CtStore, policy: Policy, trigger: Trigger, now_ms: int, source: AlertSource
) -> list[CtEvent]:
    mark_key = f"alert:{trigger.value}"
    mark = store.get_watermark(policy.name, mark_key)
    since = int(mark) if mark is not None else now_ms - ALERT_LOOKBACK_MS
    alerts = source(policy.deployment, since_ms=since, name=trigger.value)
    events = []
    newest = since
    for alert in alerts:
        newest = max(newest, int(alert.created_ms))
        event, created = store.add_event(
            policy.name,
            "alert",
            f"alert:{alert.id}",
            f"alert {alert.name} on {alert.deployment}: {alert.message}",
            {
                "alert_id": str(alert.id),
                "alert": alert.name,
                "severity": str(alert.severity),
                "value": alert.value,
                "threshold": alert.threshold,
                "window_id": alert.window_id,
                "created_ms": alert.created_ms,
            },
        )
        if created:
            events.append(event)
    store.set_watermark(policy.name, mark_key, str(newest))
    return events


def monitoring_alerts() -> AlertSource | None:
    """``loopml.monitoring.alerts.list_alerts``, if the monitoring package is installed."""
    try:
        from loopml.monitoring.alerts import list_alerts
    except ImportError:
        return None
    source: AlertSource = list_alerts
    return source


def collect(
    store: CtStore, policy: Policy, now_ms: int, alerts: AlertSource | None = None
) -> list[CtEvent]:
    """Record the new events of ``policy``'s cron, new-data and alert triggers."""
    events: list[CtEvent] = []
    for trigger in policy.triggers:
        if trigger.kind == "cron":
            events += _cron(store, policy, trigger, now_ms)
        elif trigger.kind == "new_data":
            events += _new_data(store, policy, trigger)
        elif trigger.kind == "alert":
            if alerts is None:
                log.warning(
                    "ct.%s: alert trigger %r skipped: loopml.monitoring is not available",
                    policy.name,
                    trigger.value,
                )
                continue
            events += _alerts(store, policy, trigger, now_ms, alerts)
    return events
