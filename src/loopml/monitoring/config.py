"""Monitoring settings of a deployment: ``[monitor.<deployment>]`` in loopml.toml.

```toml
[monitor.churn-prod]
window = "1h"                 # or requests = 1000
slice_column = "plan"         # slice metrics and the bias check
rules = ["drift_share > 0.3 for 2 windows", "latency_p99_ms > 200"]
cooldown = "30m"              # an alert of one kind fires at most once per cooldown
webhook = "https://hooks.example.com/loopml"
health_url = "http://127.0.0.1:8080"
```

Explicit arguments win over the file; the file wins over the defaults.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from loopml.errors import InvalidParameterError
from loopml.monitoring import _stores

__all__ = ["MonitorConfig", "load_config", "parse_duration", "window_spec"]

_UNITS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")


@dataclass(frozen=True)
class MonitorConfig:
    window: str = "1h"
    slice_column: str | None = None
    drift_share: float = 0.5  # share of drifted features that makes "dataset drift"
    lag_ms: int = 5_000  # a window closes this long after its end (late payload flushes)
    rules: tuple[str, ...] = ()
    default_rules: bool = True
    cooldown_ms: int = 30 * 60_000
    webhook: str | None = None
    health_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def parse_duration(text: str | int | float, what: str = "duration", *, zero: bool = False) -> int:
    """``"1h"`` -> 3_600_000 ms; a bare number is seconds; ``zero`` allows 0."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        if text < 0 or (text == 0 and not zero):
            raise InvalidParameterError(f"{what} must be positive, got {text!r}")
        return int(text * 1000)
    match = _DURATION.match(str(text))
    if not match or (float(match.group(1)) == 0 and not zero):
        raise InvalidParameterError(
            f"{what} {text!r} is not a duration: use a number and a unit, e.g. 30s, 15m, 1h, 1d"
        )
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def window_spec(window: str | None = None, requests: int | None = None) -> str:
    """The canonical name of a window: ``"1h"`` or ``"requests=1000"``."""
    if requests is not None:
        if window is not None:
            raise InvalidParameterError("give a window by time or by requests, not both")
        if isinstance(requests, bool) or not isinstance(requests, int) or requests < 1:
            raise InvalidParameterError(f"requests must be a positive integer, got {requests!r}")
        return f"requests={requests}"
    text = (window or "1h").strip()
    if text.startswith("requests="):
        count = text.split("=", 1)[1]
        if not count.isdigit() or int(count) < 1:
            raise InvalidParameterError(f"{text!r}: requests=N needs a positive integer N")
        return f"requests={int(count)}"
    parse_duration(text, "window")
    return text


def load_config(deployment: str) -> MonitorConfig:
    table = _stores.project_config().get(deployment)
    if table is None:
        return MonitorConfig()
    if not isinstance(table, dict):
        raise InvalidParameterError(
            f"[monitor.{deployment}] in loopml.toml must be a table of settings"
        )
    known = {
        "window",
        "requests",
        "slice_column",
        "drift_share",
        "lag",
        "rules",
        "default_rules",
        "cooldown",
        "webhook",
        "health_url",
    }
    unknown = sorted(set(table) - known)
    if unknown:
        raise InvalidParameterError(
            f"[monitor.{deployment}] has unknown setting {unknown[0]!r}; use {', '.join(sorted(known))}"
        )
    rules = table.get("rules", [])
    if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
        raise InvalidParameterError(f"[monitor.{deployment}] rules must be a list of strings")
    share = float(table.get("drift_share", 0.5))
    if not 0 < share <= 1:
        raise InvalidParameterError(f"[monitor.{deployment}] drift_share must be in (0, 1]")
    return MonitorConfig(
        window=window_spec(table.get("window"), table.get("requests")),
        slice_column=table.get("slice_column"),
        drift_share=share,
        lag_ms=parse_duration(table.get("lag", 5), "lag", zero=True),
        rules=tuple(rules),
        default_rules=bool(table.get("default_rules", True)),
        cooldown_ms=parse_duration(table.get("cooldown", "30m"), "cooldown", zero=True),
        webhook=table.get("webhook"),
        health_url=table.get("health_url"),
    )
