"""Alerts: rules evaluated over stored windows, deduplicated, cooled down, sent and kept.

``evaluate_alerts`` computes the windows that closed since last time, then checks every rule
against each model version's latest windows. An alert fires at most once per window and rule
(deduplication) and at most once per ``cooldown`` per deployment and alert name; it goes to the
log, to the deployment's webhook (in the background), and into the store, where
``list_alerts`` finds it — the CT controller reads its triggers there.
"""

from __future__ import annotations

import time
from typing import Any

from loopml.monitoring import _stores
from loopml.monitoring.channels import log_alert, sender
from loopml.monitoring.config import MonitorConfig, load_config
from loopml.monitoring.rules import Rule, parse_rule, rules_for
from loopml.store.metadata.monitoring_base import Alert

__all__ = ["Alert", "alert_rules", "evaluate_alerts", "fire", "list_alerts", "parse_rule"]


def _now() -> int:
    return time.time_ns() // 1_000_000


def alert_rules(deployment: str, extra: list[str] | None = None) -> list[Rule]:
    """The rules in force for ``deployment``: defaults, then loopml.toml, then ``extra``."""
    config = load_config(deployment)
    return rules_for([*config.rules, *(extra or [])], defaults=config.default_rules)


def list_alerts(
    deployment: str | None = None,
    *,
    since_ms: int | None = None,
    name: str | None = None,
    limit: int | None = None,
) -> list[Alert]:
    """Fired alerts, oldest first (``limit`` keeps the newest)."""
    return _stores.monitoring_store().list_alerts(
        deployment, since_ms=since_ms, name=name, limit=limit
    )


def _still_served(by_version: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Only versions with traffic in the newest window's span: a version that was replaced
    keeps its last (maybe drifted) windows, which must not fire again on every evaluation."""
    if not by_version:
        return by_version
    newest = max((s[-1] for s in by_version.values()), key=lambda w: w.end_ms)
    return {
        v: s
        for v, s in by_version.items()
        if s[-1] is newest or s[-1].end_ms > newest.start_ms or s[-1].start_ms == newest.start_ms
    }


def evaluate_alerts(
    deployment: str,
    *,
    window: str | None = None,
    extra_rules: list[str] | None = None,
    now_ms: int | None = None,
    liveness: bool | None = None,
) -> list[Alert]:
    """Compute pending windows, check the rules, fire what matches; returns the new alerts.

    Liveness (``deployment_down``) is checked when the deployment has a ``health_url`` in
    loopml.toml (or ``liveness=True``).
    """
    from loopml.monitoring.windows import compute_windows

    config = load_config(deployment)
    spec = window or config.window
    compute_windows(deployment, spec, now_ms=now_ms)
    active = alert_rules(deployment, extra_rules)
    fired: list[Alert] = []
    store = _stores.monitoring_store()
    windows = store.list_windows(deployment, spec=_spec(spec), limit=200)
    by_version: dict[str, list[Any]] = {}
    for w in windows:
        if not w.model_version.endswith("(shadow)"):
            by_version.setdefault(w.model_version, []).append(w)
    by_version = _still_served(by_version)
    for rule in active:
        if rule.liveness:
            continue
        for version, series in sorted(by_version.items()):
            # the latest windows that measured the metric (accuracy needs labelled windows)
            having = [w for w in series if w.metrics.get("values", {}).get(rule.metric) is not None]
            latest = having[-rule.windows :]
            if len(latest) < rule.windows:
                continue
            observed = [w.metrics["values"][rule.metric] for w in latest]
            if not all(rule.matches(v) for v in observed):
                continue
            last = latest[-1]
            value = observed[-1]
            message = _message(rule, version, value, last, observed)
            alert = Alert(
                deployment=deployment,
                name=rule.name,
                severity=rule.severity,
                message=message,
                value=float(value) if value is not None else None,
                threshold=rule.threshold,
                window_id=last.id,
                rule=rule.text,
            )
            made = fire(alert, config, now_ms=now_ms)
            if made is not None:
                fired.append(made)
    want_liveness = liveness if liveness is not None else config.health_url is not None
    if want_liveness and any(r.liveness for r in active):
        from loopml.monitoring.liveness import check_liveness

        result = check_liveness(deployment)
        if result.alert is not None:
            fired.append(result.alert)
    return fired


def _spec(spec: str) -> str:
    from loopml.monitoring.config import window_spec

    return window_spec(spec)


def _message(rule: Rule, version: str, value: Any, window: Any, observed: list[Any]) -> str:
    span = f"in {rule.windows} consecutive windows" if rule.windows > 1 else "in the last window"
    detail = ""
    if rule.metric == "drift_share":
        drifted = window.metrics.get("input_drift", {}).get("drifted", [])
        detail = f"; drifted features: {', '.join(drifted)}" if drifted else ""
    return (
        f"model version {version}: {rule.metric} = {_fmt(value)} ({rule.op} {_fmt(rule.threshold)}) "
        f"{span}{detail}"
    )


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def fire(
    alert: Alert, config: MonitorConfig | None = None, *, now_ms: int | None = None
) -> Alert | None:
    """Store and send ``alert`` unless it is a duplicate (same rule and window) or cooling down
    (same deployment and name within the cooldown); returns the stored alert or None."""
    if config is None:
        is_url = alert.deployment.startswith(("http://", "https://"))
        config = MonitorConfig() if is_url else load_config(alert.deployment)
    store = _stores.monitoring_store()
    now = now_ms if now_ms is not None else _now()
    recent = store.list_alerts(alert.deployment, name=alert.name, limit=50)
    for old in recent:
        if (
            alert.window_id is not None
            and old.window_id == alert.window_id
            and old.rule == alert.rule
        ):
            return None
    if recent and now - recent[-1].created_ms < config.cooldown_ms:
        return None
    stored = store.add_alert(
        Alert(
            deployment=alert.deployment,
            name=alert.name,
            severity=alert.severity,
            message=alert.message,
            value=alert.value,
            threshold=alert.threshold,
            window_id=alert.window_id,
            rule=alert.rule,
            created_ms=now,
        )
    )
    log_alert(stored)
    if config.webhook:
        sender().send(config.webhook, {"alert": stored.to_dict(), "source": "loopml"})
    return stored
