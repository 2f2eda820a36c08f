"""The interface to deployment records: the SQL store implements it.

The store keeps each configuration as an opaque JSON object; what a configuration means (routes,
weights, shadows, batching) is ``loopml.serving``'s business, so the store stays domain-free.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "PAYLOAD_COLUMNS",
    "DeploymentRecord",
    "DeploymentStore",
    "PayloadFile",
    "RouteCounter",
]

# Columns of a payload-log Parquet object: serving writes them, monitoring reads them.
PAYLOAD_COLUMNS = (
    "request_id",
    "deployment",
    "route",
    "model_uri",
    "model_version",
    "status",
    "latency_ms",
    "ts_ms",
    "shadow",
    "protocol",
    "content_type",
    "inputs",
    "outputs",
)


@dataclass(frozen=True)
class DeploymentRecord:
    """One version of a deployment's configuration; ``current`` if it is the one in force."""

    name: str
    version: int
    config: dict[str, Any]
    created_ms: int
    message: str | None = None
    user: str | None = None
    current: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "config": self.config,
            "created_ms": self.created_ms,
            "message": self.message,
            "user": self.user,
            "current": self.current,
        }


@dataclass(frozen=True)
class RouteCounter:
    """What a serving process has answered on one route since the deployment was served."""

    route: str
    model_uri: str
    requests: int = 0
    errors: int = 0
    latency_ms_sum: float = 0.0
    updated_ms: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    dropped: int = 0  # payload-log events lost because the writer's queue was full

    def to_dict(self) -> dict[str, Any]:
        return {
            "route": self.route,
            "model_uri": self.model_uri,
            "requests": self.requests,
            "errors": self.errors,
            "latency_ms_sum": self.latency_ms_sum,
            "updated_ms": self.updated_ms,
            "dropped": self.dropped,
        }


@dataclass(frozen=True)
class PayloadFile:
    """One Parquet object of a deployment's payload log: a flushed batch of requests whose
    ``ts_ms`` lie in ``[min_ts_ms, max_ts_ms]``. Readers find files by time through this index
    instead of listing the object store."""

    object_hash: str
    rows: int
    min_ts_ms: int
    max_ts_ms: int
    created_ms: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "object_hash": self.object_hash,
            "rows": self.rows,
            "min_ts_ms": self.min_ts_ms,
            "max_ts_ms": self.max_ts_ms,
            "created_ms": self.created_ms,
        }


class DeploymentStore(ABC):
    @abstractmethod
    def create_deployment(
        self, name: str, config: dict[str, Any], user: str | None, message: str | None = None
    ) -> DeploymentRecord:
        """Version 1 of a new deployment; ``ALREADY_EXISTS`` if the name is taken."""

    @abstractmethod
    def add_version(
        self, name: str, config: dict[str, Any], user: str | None, message: str | None = None
    ) -> DeploymentRecord:
        """Append a configuration version and make it current (numbers assigned in the write
        transaction, so concurrent changes never share one)."""

    @abstractmethod
    def get_deployment(self, name: str, version: int | None = None) -> DeploymentRecord:
        """The current version, or ``version``; ``RESOURCE_NOT_FOUND`` if absent."""

    @abstractmethod
    def list_deployments(self) -> list[DeploymentRecord]:
        """The current version of every deployment, by name."""

    @abstractmethod
    def list_versions(self, name: str) -> list[DeploymentRecord]:
        """Every version of ``name``, newest first."""

    @abstractmethod
    def delete_deployment(self, name: str) -> None: ...

    @abstractmethod
    def add_counters(self, name: str, counters: list[RouteCounter]) -> None:
        """Add ``counters`` (deltas) to the stored totals of their routes."""

    @abstractmethod
    def get_counters(self, name: str) -> list[RouteCounter]: ...

    @abstractmethod
    def add_payload_file(self, deployment: str, f: PayloadFile) -> None:
        """Index a payload-log object (already in the object store); adding the same object
        twice is a no-op, so a retried flush never duplicates rows."""

    @abstractmethod
    def list_payload_files(
        self, deployment: str, since_ms: int | None = None, until_ms: int | None = None
    ) -> list[PayloadFile]:
        """The files that may hold rows with ``since_ms <= ts_ms < until_ms`` (either bound
        open when ``None``), oldest first."""
