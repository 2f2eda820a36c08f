"""Monitoring: windows over serving payload logs, drift against the training reference, alerts.

Names load on first use (PEP 562), so ``import loopml.monitoring`` pulls in neither pyarrow nor
a database driver.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loopml.monitoring.alerts import Alert, alert_rules, evaluate_alerts, list_alerts
    from loopml.monitoring.feedback import record_feedback
    from loopml.monitoring.liveness import Liveness, check_liveness
    from loopml.monitoring.reports import Status, report, status
    from loopml.monitoring.windows import WindowResult, compute_windows, list_windows

_LAZY: dict[str, str] = {
    "compute_windows": "loopml.monitoring.windows",
    "list_windows": "loopml.monitoring.windows",
    "WindowResult": "loopml.monitoring.windows",
    "status": "loopml.monitoring.reports",
    "report": "loopml.monitoring.reports",
    "Status": "loopml.monitoring.reports",
    "record_feedback": "loopml.monitoring.feedback",
    "check_liveness": "loopml.monitoring.liveness",
    "Liveness": "loopml.monitoring.liveness",
    "Alert": "loopml.monitoring.alerts",
    "evaluate_alerts": "loopml.monitoring.alerts",
    "list_alerts": "loopml.monitoring.alerts",
    "alert_rules": "loopml.monitoring.alerts",
}

__all__ = [
    "Alert",
    "Liveness",
    "Status",
    "WindowResult",
    "alert_rules",
    "check_liveness",
    "compute_windows",
    "evaluate_alerts",
    "list_alerts",
    "list_windows",
    "record_feedback",
    "report",
    "status",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'loopml.monitoring' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
