"""Liveness: is a deployment's serving process up and ready? One GET with a timeout.

``/v2/health/ready`` answers 200 once the model passed its smoke test and 503 before; no
answer within the timeout (refused, reset, hung) means down. Either way a ``deployment_down``
alert fires, deduplicated and cooled down like every alert.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from loopml.errors import InvalidParameterError
from loopml.monitoring.config import load_config
from loopml.store.metadata.monitoring_base import Alert

__all__ = ["Liveness", "check_liveness"]

READY_PATH = "/v2/health/ready"


@dataclass(frozen=True)
class Liveness:
    target: str  # the deployment name, or the URL when called with one
    url: str
    up: bool  # answered at all
    ready: bool
    status: int | None
    latency_ms: float
    reason: str
    alert: Alert | None = None


def check_liveness(
    deployment_or_url: str,
    *,
    url: str | None = None,
    timeout_s: float = 2.0,
    alert: bool = True,
) -> Liveness:
    """Ping the readiness route of a deployment (its ``health_url`` in ``[monitor.<name>]``)
    or of a base URL; fire ``deployment_down`` when it is down or not ready."""
    import httpx

    target = deployment_or_url
    base = url
    if base is None and target.startswith(("http://", "https://")):
        base = target
    if base is None:
        base = load_config(target).health_url
    if not base:
        raise InvalidParameterError(
            f"no health URL for {target!r}: pass url=..., or set health_url in "
            f'[monitor.{target}] of loopml.toml, e.g. health_url = "http://127.0.0.1:8080"'
        )
    probe = base.rstrip("/") + READY_PATH if not base.rstrip("/").endswith("/ready") else base
    started = time.perf_counter()
    status: int | None = None
    try:
        response = httpx.get(probe, timeout=timeout_s)
        status = response.status_code
        ready = status == 200
        reason = "ready" if ready else f"not ready (HTTP {status})"
    except httpx.TimeoutException:
        ready, reason = False, f"no answer within {timeout_s:g} s"
    except httpx.HTTPError as exc:
        ready, reason = False, f"unreachable: {type(exc).__name__}: {exc}"
    elapsed = (time.perf_counter() - started) * 1000
    fired = None
    if not ready and alert:
        from loopml.monitoring.alerts import fire

        fired = fire(
            Alert(
                deployment=target,
                name="deployment_down",
                severity="critical",
                message=f"{probe}: {reason}",
                value=None if status is None else float(status),
                rule="deployment_down",
            )
        )
    return Liveness(target, probe, status is not None, ready, status, elapsed, reason, fired)
