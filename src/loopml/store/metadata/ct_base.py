"""The interface to the continuous-training controller's records: the SQL store implements it.

The store knows nothing of policies, gates or deployments: it keeps events, runs with an opaque
state and JSON data, decisions and leases, and guarantees the two invariants the controller is
built on: one event per (policy, key), and at most one unfinished run per policy.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FINAL_STATES", "CtDecision", "CtEvent", "CtRun", "CtStore"]

FINAL_STATES = frozenset({"promoted", "rolled_back", "rejected", "failed"})


@dataclass(frozen=True)
class CtEvent:
    """One trigger event: ``key`` names it (``cron:<tick>``, ``new_data:<name>/<v>``, ...)."""

    id: int
    policy: str
    kind: str
    key: str
    reason: str
    detail: dict[str, Any]
    status: str  # pending, consumed (started a run), coalesced (joined a run already going)
    run_id: str | None
    created_ms: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "policy": self.policy,
            "kind": self.kind,
            "key": self.key,
            "reason": self.reason,
            "detail": self.detail,
            "status": self.status,
            "run_id": self.run_id,
            "created_ms": self.created_ms,
        }


@dataclass(frozen=True)
class CtRun:
    """One triggered run of a policy and where its state machine stands."""

    run_id: str
    policy: str
    state: str
    reason: str
    data: dict[str, Any]
    created_ms: int
    updated_ms: int
    pipeline_run_id: str | None = None
    candidate: str | None = None
    champion: str | None = None
    outcome: str | None = None
    finished_ms: int | None = None

    @property
    def finished(self) -> bool:
        return self.state in FINAL_STATES

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "policy": self.policy,
            "state": self.state,
            "reason": self.reason,
            "data": self.data,
            "pipeline_run_id": self.pipeline_run_id,
            "candidate": self.candidate,
            "champion": self.champion,
            "outcome": self.outcome,
            "created_ms": self.created_ms,
            "updated_ms": self.updated_ms,
            "finished_ms": self.finished_ms,
        }


@dataclass(frozen=True)
class CtDecision:
    """One entry of the decision log: what was decided, why (in words) and the numbers."""

    id: int
    policy: str
    run_id: str | None
    ts_ms: int
    step: str
    outcome: str
    reason: str
    numbers: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "policy": self.policy,
            "run_id": self.run_id,
            "ts_ms": self.ts_ms,
            "step": self.step,
            "outcome": self.outcome,
            "reason": self.reason,
            "numbers": self.numbers,
        }


class CtStore(ABC):
    @abstractmethod
    def add_event(
        self, policy: str, kind: str, key: str, reason: str, detail: dict[str, Any]
    ) -> tuple[CtEvent, bool]:
        """Record an event; an existing (policy, key) is returned with ``False``, never doubled."""

    @abstractmethod
    def list_events(
        self, policy: str, *, status: str | None = None, limit: int = 1000
    ) -> list[CtEvent]:
        """Events of ``policy``, oldest first."""

    @abstractmethod
    def start_run(
        self, policy: str, run_id: str, state: str, reason: str, event_ids: list[int]
    ) -> CtRun | None:
        """Create a run consuming ``event_ids`` in one transaction; None if ``policy`` already
        has an unfinished run (the events stay pending)."""

    @abstractmethod
    def coalesce_events(self, run_id: str, event_ids: list[int]) -> None:
        """Attach pending events to a run already going (they start nothing themselves)."""

    @abstractmethod
    def active_run(self, policy: str) -> CtRun | None: ...

    @abstractmethod
    def get_run(self, run_id: str) -> CtRun:
        """``RESOURCE_NOT_FOUND`` if absent."""

    @abstractmethod
    def list_runs(self, policy: str | None = None, *, limit: int = 100) -> list[CtRun]:
        """Newest first."""

    @abstractmethod
    def update_run(self, run_id: str, expect_state: str, **changes: Any) -> CtRun:
        """Compare-and-set: change the run only if it is still in ``expect_state`` (else
        ``INVALID_STATE``); a final state also sets ``finished_ms``. ``data`` is merged."""

    @abstractmethod
    def add_decision(
        self,
        policy: str,
        run_id: str | None,
        step: str,
        outcome: str,
        reason: str,
        numbers: dict[str, Any],
        *,
        actor: str,
    ) -> CtDecision:
        """Append to the decision log (and the audit log)."""

    @abstractmethod
    def list_decisions(
        self, policy: str | None = None, *, run_id: str | None = None, limit: int = 1000
    ) -> list[CtDecision]:
        """Oldest first, the last ``limit`` entries."""

    @abstractmethod
    def get_watermark(self, policy: str, trigger: str) -> str | None: ...

    @abstractmethod
    def set_watermark(self, policy: str, trigger: str, value: str) -> None: ...

    @abstractmethod
    def acquire_lease(self, name: str, holder: str, ttl_ms: int) -> bool:
        """Take or renew the lease ``name`` for ``holder`` until now + ``ttl_ms``; False while
        another holder's lease has not expired."""

    @abstractmethod
    def release_lease(self, name: str, holder: str) -> None: ...

    @abstractmethod
    def lease_holder(self, name: str) -> tuple[str, int] | None:
        """(holder, expires_ms) of the lease, if any."""
