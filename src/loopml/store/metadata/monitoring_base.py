"""The interface to monitoring records (windows, cursors, labels, alerts): SQL implements it.

The store keeps a window's metrics as an opaque JSON object: what they mean is
``loopml.monitoring``'s business, so the store stays domain-free.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Alert", "MonitoringStore", "NewWindow", "WindowRecord"]


@dataclass(frozen=True)
class NewWindow:
    """A computed window, before the store gives it an id."""

    deployment: str
    spec: str
    model_version: str
    model_uri: str
    start_ms: int
    end_ms: int
    requests: int
    rows: int
    metrics: dict[str, Any]
    snapshot_hash: str | None = None


@dataclass(frozen=True)
class WindowRecord(NewWindow):
    id: int = 0
    labels_ms: int | None = None
    created_ms: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Alert:
    """A fired alert: ``name`` is the kind ("input_drift", "error_rate", "deployment_down", ...),
    ``value`` what was measured and ``threshold`` what the rule allows."""

    deployment: str
    name: str
    severity: str
    message: str
    value: float | None = None
    threshold: float | None = None
    window_id: int | None = None
    rule: str = ""
    created_ms: int = 0
    id: int = 0
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body.pop("extra")
        return body


class MonitoringStore(ABC):
    @abstractmethod
    def add_windows(
        self, windows: list[NewWindow], deployment: str, spec: str, cursor: dict[str, Any]
    ) -> list[WindowRecord]:
        """Store ``windows`` and move the cursor of (deployment, spec) in one transaction, so a
        window is never stored twice nor skipped. A window already stored is kept as it is."""

    @abstractmethod
    def get_cursor(self, deployment: str, spec: str) -> dict[str, Any] | None: ...

    @abstractmethod
    def list_windows(
        self,
        deployment: str,
        *,
        spec: str | None = None,
        model_version: str | None = None,
        since_ms: int | None = None,
        limit: int | None = None,
    ) -> list[WindowRecord]:
        """Windows by start time, oldest first; ``limit`` keeps the newest."""

    @abstractmethod
    def get_window(self, window_id: int) -> WindowRecord: ...

    @abstractmethod
    def update_window_metrics(
        self, window_id: int, metrics: dict[str, Any], labels_ms: int
    ) -> None: ...

    @abstractmethod
    def add_feedback(self, deployment: str, items: list[tuple[str, int, str]]) -> int:
        """Upsert labels ``(request_id, row, label as JSON)``; returns how many were written."""

    @abstractmethod
    def get_feedback(
        self, deployment: str, request_ids: list[str]
    ) -> list[tuple[str, int, str]]: ...

    @abstractmethod
    def last_feedback_ms(self, deployment: str) -> int | None: ...

    @abstractmethod
    def add_alert(self, alert: Alert) -> Alert: ...

    @abstractmethod
    def list_alerts(
        self,
        deployment: str | None = None,
        *,
        since_ms: int | None = None,
        name: str | None = None,
        limit: int | None = None,
    ) -> list[Alert]:
        """Alerts oldest first; ``limit`` keeps the newest."""

    @abstractmethod
    def get_reference(self, key: str) -> str | None: ...

    @abstractmethod
    def put_reference(self, key: str, object_hash: str) -> None: ...
