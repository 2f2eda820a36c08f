"""Alert rules over window metrics, written as text a person can read and put in loopml.toml.

``"drift_share > 0.3 for 2 windows"``, ``"error_rate > 0.01"``, ``"latency_p99_ms > 200"``,
``"accuracy_drop > 0.05"``, ``"deployment_down"``; a rule may name its alert first
(``"spend_drift: drift_share > 0.2"``) and end with a severity (``... critical``). The metric is
any number in a window's ``values``; the alert is named after what it watches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from loopml.errors import InvalidParameterError

__all__ = ["DEFAULT_RULES", "Rule", "parse_rule"]

DEFAULT_RULES = (
    "drift_share > 0.3 for 2 windows",
    "output_drift >= 1 for 2 windows",
    "error_rate > 0.01",
    "latency_p99_ms > 200",
    "accuracy_drop > 0.05",
    "deployment_down",
)
ALERT_NAMES = {
    "drift_share": "input_drift",
    "output_drift": "output_drift",
    "output_drift_value": "output_drift",
    "error_rate": "error_rate",
    "latency_p50_ms": "latency",
    "latency_p95_ms": "latency",
    "latency_p99_ms": "latency",
    "accuracy_drop": "accuracy_drop",
    "auc_drop": "accuracy_drop",
    "accuracy": "accuracy_drop",
    "auc": "accuracy_drop",
    "rmse_increase": "accuracy_drop",
    "mae_increase": "accuracy_drop",
    "missing_share": "skew",
    "failed_requests": "skew",
    "positive_rate_gap": "bias",
    "accuracy_gap": "bias",
}
SEVERITIES = ("info", "warning", "critical")
_CRITICAL = frozenset({"error_rate", "deployment_down"})
_OPS = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}
_RULE = re.compile(
    r"^\s*(?:(?P<name>[A-Za-z_][\w\-]*)\s*:\s*)?"
    r"(?P<metric>[A-Za-z_]\w*)\s*(?P<op>>=|<=|==|!=|>|<)\s*(?P<threshold>-?\d+(?:\.\d+)?(?:e-?\d+)?)"
    r"(?:\s+for\s+(?P<count>\d+)\s+(?:consecutive\s+)?windows?)?"
    r"(?:\s+(?P<severity>info|warning|critical))?\s*$"
)
_DOWN = re.compile(
    r"^\s*(?:(?P<name>[A-Za-z_][\w\-]*)\s*:\s*)?deployment_down(?:\s+(?P<severity>info|warning|critical))?\s*$"
)


@dataclass(frozen=True)
class Rule:
    text: str
    name: str  # the alert it fires: input_drift, error_rate, latency, ...
    metric: str  # a key of a window's values, or "deployment_down"
    op: str = ">"
    threshold: float = 0.0
    windows: int = 1  # consecutive windows that must all match
    severity: str = "warning"

    @property
    def liveness(self) -> bool:
        return self.metric == "deployment_down"

    def matches(self, value: float | None) -> bool:
        return value is not None and bool(_OPS[self.op](value, self.threshold))


def parse_rule(text: str) -> Rule:
    """A rule from its text; ``INVALID_PARAMETER`` with an example when it does not parse."""
    if not isinstance(text, str):
        raise InvalidParameterError(f"an alert rule is text, got {text!r}")
    down = _DOWN.match(text)
    if down:
        return Rule(
            text.strip(),
            down.group("name") or "deployment_down",
            "deployment_down",
            severity=down.group("severity") or "critical",
        )
    match = _RULE.match(text)
    if not match:
        raise InvalidParameterError(
            f"cannot read the alert rule {text!r}: write '<metric> <op> <number> "
            "[for N windows] [severity]', e.g. 'drift_share > 0.3 for 2 windows' or "
            "'latency_p99_ms > 200 critical'",
            rule=text,
        )
    metric = match.group("metric")
    name = match.group("name") or ALERT_NAMES.get(metric, metric)
    count = int(match.group("count") or 1)
    if count < 1:
        raise InvalidParameterError(f"{text!r}: 'for N windows' needs N >= 1", rule=text)
    severity = match.group("severity") or ("critical" if name in _CRITICAL else "warning")
    return Rule(
        text.strip(),
        name,
        metric,
        match.group("op"),
        float(match.group("threshold")),
        count,
        severity,
    )


def rules_for(extra: tuple[str, ...] | list[str], *, defaults: bool = True) -> list[Rule]:
    """The default rules, then ``extra``; a rule for the same metric replaces the default."""
    mine = [parse_rule(r) for r in extra]
    metrics = {r.metric for r in mine}
    base = [parse_rule(r) for r in DEFAULT_RULES] if defaults else []
    return [r for r in base if r.metric not in metrics] + mine
