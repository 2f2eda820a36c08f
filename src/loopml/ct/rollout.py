"""Canary rollout: put the candidate beside the champion, watch it, then promote or roll back.

Every deployment change here is idempotent (it looks at the configuration in force first), so a
controller restarted between two steps repeats the step safely. The canary is judged on the
deployment's live per-route counters, minus the counters recorded when the canary started
(route counters are cumulative), and on the p99 latency of the canary's payload-log rows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from loopml.ct.policy import Rollout
from loopml.errors import InvalidStateError
from loopml.serving.config import DeploymentConfig, Route
from loopml.store.metadata.deployments_base import DeploymentStore

__all__ = [
    "CanaryStats",
    "baseline",
    "canary_model",
    "canary_stats",
    "create",
    "judge",
    "main_model",
    "promote_canary",
    "remove_canary",
    "start_canary",
]

log = logging.getLogger("loopml.ct")
ACTOR = "loopml-ct"


def _config(store: DeploymentStore, deployment: str) -> DeploymentConfig:
    return DeploymentConfig.from_dict(store.get_deployment(deployment).config)


def _routes(config: DeploymentConfig) -> dict[str, Route]:
    return {r.name: r for r in config.routes}


def main_model(store: DeploymentStore, deployment: str) -> str:
    """The model URI of the deployment's main route."""
    routes = _routes(_config(store, deployment))
    main = routes.get("main") or routes.get("a")
    if main is None:
        raise InvalidStateError(f"deployment {deployment!r} has no main route", name=deployment)
    return main.model


def canary_model(store: DeploymentStore, deployment: str) -> str | None:
    """The model URI of the live canary route, if any."""
    canary = _routes(_config(store, deployment)).get("canary")
    return None if canary is None else canary.model


def create(store: DeploymentStore, deployment: str, model: str) -> None:
    """A new deployment serving ``model`` (the first champion of a policy)."""
    store.create_deployment(deployment, DeploymentConfig.single(model).to_dict(), ACTOR, "create")


def start_canary(store: DeploymentStore, deployment: str, candidate: str, weight: int) -> int:
    """Route ``weight`` percent to ``candidate`` as the ``canary``; the deployment version."""
    config = _config(store, deployment)
    routes = _routes(config)
    canary = routes.get("canary")
    if canary is not None and canary.model == candidate:
        return store.get_deployment(deployment).version  # already started (a restart)
    if "main" not in routes or set(routes) - {"main", "canary"}:
        raise InvalidStateError(
            f"deployment {deployment!r} runs routes {', '.join(routes)}: the controller needs a "
            "plain main route to put a canary beside (end the A/B test first)",
            name=deployment,
        )
    new = config.with_routes(
        [Route("main", routes["main"].model, 100 - weight), Route("canary", candidate, weight)]
    )
    record = store.add_version(deployment, new.to_dict(), ACTOR, f"canary {candidate} at {weight}%")
    return record.version


def remove_canary(store: DeploymentStore, deployment: str, candidate: str) -> bool:
    """Back to the main route alone; False if no canary of ``candidate`` was live."""
    config = _config(store, deployment)
    routes = _routes(config)
    canary = routes.get("canary")
    if canary is None or canary.model != candidate:
        return False
    new = config.with_routes([Route("main", routes["main"].model, 100)])
    store.add_version(deployment, new.to_dict(), ACTOR, f"rollback canary {candidate}")
    return True


def promote_canary(store: DeploymentStore, deployment: str, main_uri: str) -> bool:
    """The main route serves ``main_uri`` at 100% and the canary is gone; False if already so."""
    config = _config(store, deployment)
    if [(r.name, r.model, r.weight) for r in config.routes] == [("main", main_uri, 100)]:
        return False
    new = config.with_routes([Route("main", main_uri, 100)])
    store.add_version(deployment, new.to_dict(), ACTOR, f"promote canary to {main_uri}")
    return True


def baseline(store: DeploymentStore, deployment: str) -> dict[str, Any]:
    """The canary route's cumulative counters now (subtracted from later readings)."""
    for c in store.get_counters(deployment):
        if c.route == "canary":
            return {"requests": c.requests, "errors": c.errors, "latency_ms_sum": c.latency_ms_sum}
    return {"requests": 0, "errors": 0, "latency_ms_sum": 0.0}


@dataclass(frozen=True)
class CanaryStats:
    requests: int
    errors: int
    mean_ms: float | None
    p99_ms: float | None
    p99_rows: int

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "error_rate": self.error_rate,
            "mean_ms": self.mean_ms,
            "p99_ms": self.p99_ms,
            "p99_rows": self.p99_rows,
        }


def _p99(deployment: str, candidate: str, since_ms: int) -> tuple[float | None, int]:
    """p99 latency of the canary's logged requests since ``since_ms`` (None without logs)."""
    try:
        import numpy as np

        from loopml.serving.recorder import read_payloads

        table = read_payloads(deployment, since_ms)
        rows = table.to_pydict() if table.num_rows else {}
    except Exception as exc:  # a missing or unreadable payload log must not stop the rollout
        log.warning("ct: no payload log for %s: %s", deployment, exc)
        return None, 0
    if not rows:
        return None, 0
    latencies = [
        lat
        for lat, route, model, shadow in zip(
            rows["latency_ms"], rows["route"], rows["model_uri"], rows["shadow"], strict=True
        )
        if route == "canary" and model == candidate and not shadow
    ]
    if not latencies:
        return None, 0
    return float(np.percentile(np.asarray(latencies, dtype=float), 99)), len(latencies)


def canary_stats(
    store: DeploymentStore,
    deployment: str,
    candidate: str,
    base: dict[str, Any],
    since_ms: int,
    rollout: Rollout,
) -> CanaryStats:
    """The canary's numbers since it started; the p99 (read from the payload log) only when the
    policy limits it and enough requests arrived to judge it."""
    now = baseline(store, deployment)
    requests = int(now["requests"]) - int(base["requests"])
    errors = int(now["errors"]) - int(base["errors"])
    latency = float(now["latency_ms_sum"]) - float(base["latency_ms_sum"])
    p99, p99_rows = None, 0
    if rollout.max_p99_ms is not None and requests >= rollout.min_requests:
        p99, p99_rows = _p99(deployment, candidate, since_ms)
    return CanaryStats(requests, errors, latency / requests if requests else None, p99, p99_rows)


def judge(rollout: Rollout, stats: CanaryStats, elapsed_s: float) -> tuple[str, str]:
    """("wait" | "promote" | "rollback", why in words)."""
    n, need = stats.requests, rollout.min_requests
    allowed_errors = rollout.max_error_rate * need
    if stats.errors > allowed_errors:  # the rate cannot get back under the limit by min_requests
        return "rollback", (
            f"error rate {stats.error_rate:.2%} ({stats.errors} of {n} requests) exceeds "
            f"max_error_rate {rollout.max_error_rate:.2%}"
        )
    p99_limit = rollout.max_p99_ms
    if (
        p99_limit is not None
        and stats.p99_ms is not None
        and n >= need
        and stats.p99_ms > p99_limit
    ):
        return "rollback", (
            f"p99 latency {stats.p99_ms:.1f} ms over {stats.p99_rows} requests exceeds "
            f"max_p99_ms {p99_limit:g}"
        )
    if (
        p99_limit is not None
        and stats.mean_ms is not None
        and n >= need
        and stats.mean_ms > p99_limit
    ):
        return "rollback", (
            f"mean latency {stats.mean_ms:.1f} ms (so p99 is higher still) exceeds max_p99_ms "
            f"{p99_limit:g}"
        )
    if n < need:
        if rollout.timeout_s is not None and elapsed_s > rollout.timeout_s:
            return "rollback", (
                f"only {n} of min_requests {need} reached the canary in {elapsed_s:.0f} s "
                f"(timeout_s {rollout.timeout_s:g})"
            )
        return "wait", f"{n} of min_requests {need} on the canary so far"
    if stats.error_rate > rollout.max_error_rate:
        return "rollback", (
            f"error rate {stats.error_rate:.2%} ({stats.errors} of {n} requests) exceeds "
            f"max_error_rate {rollout.max_error_rate:.2%}"
        )
    p99 = "n/a (no payload log)" if stats.p99_ms is None else f"{stats.p99_ms:.1f} ms"
    mean = "n/a" if stats.mean_ms is None else f"{stats.mean_ms:.1f} ms"
    limit = "" if p99_limit is None else f" (max {p99_limit:g} ms)"
    return "promote", (
        f"{n} canary requests (min {need}), error rate {stats.error_rate:.2%} (max "
        f"{rollout.max_error_rate:.2%}), p99 {p99}{limit}, mean {mean}"
    )
