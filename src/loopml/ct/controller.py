"""The CT controller: one pass turns trigger events into runs and moves each run one or more
steps along its state machine, recording every decision with its reason and numbers.

``triggered → training → gating → [awaiting_approval →] rolling_out → promoted | rolled_back``,
or ``rejected`` (a gate or an approver said no) or ``failed`` (the pipeline broke). All state is
in the metadata store, so a controller killed at any point and started again resumes where the
run stands: every step either is idempotent or is recorded before it acts (see rollout.py).
A lease row lets exactly one controller act at a time.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from loopml.ct import steps
from loopml.ct.policy import Policy
from loopml.ct.training import PipelineTrainer, Trainer
from loopml.ct.triggers import AlertSource, collect, monitoring_alerts
from loopml.errors import InvalidStateError, LoopmlError, NotFoundError, StoreUnavailableError
from loopml.store.metadata.ct_base import CtDecision, CtEvent, CtRun, CtStore

__all__ = ["ACTOR", "LEASE", "Controller", "ct_store"]

log = logging.getLogger("loopml.ct")
ACTOR = "loopml-ct"
LEASE = "ct-controller"
_AUTO: Any = object()


def ct_store() -> CtStore:
    """The controller records beside the project's metadata database."""
    from loopml.store.metadata.sql import SqlMetadataStore
    from loopml.tracking.context import get_context

    meta = get_context().metadata
    if not isinstance(meta, SqlMetadataStore):
        raise InvalidStateError(
            "the CT controller needs the metadata database itself (LOOPML_DB_URL), not a "
            "server URL: run it where the database is reachable"
        )
    from loopml.store.metadata.ct_sql import SqlCtStore

    return SqlCtStore(meta.engine)


def _ms(now: datetime | int | float | None) -> int:
    if now is None:
        return time.time_ns() // 1_000_000
    if isinstance(now, datetime):
        return int(now.timestamp() * 1000)
    return int(now)


class Controller:
    """Drives the policies. ``run_once`` is one pass (what ``loopml ct once`` runs)."""

    def __init__(
        self,
        policies: Mapping[str, Policy] | Iterable[Policy] | None = None,
        *,
        trainer: Trainer | None = None,
        alerts: AlertSource | None = _AUTO,
        store: CtStore | None = None,
        lease_ttl_s: float = 60.0,
        holder: str | None = None,
    ) -> None:
        if policies is None:
            from loopml.ct.policy import load_policies

            policies = load_policies()
        items = policies.values() if isinstance(policies, Mapping) else policies
        self.policies: dict[str, Policy] = {p.name: p for p in items}
        self.trainer: Trainer = trainer or PipelineTrainer()
        self.alerts = monitoring_alerts() if alerts is _AUTO else alerts
        self.store = store or ct_store()
        self.lease_ttl_ms = int(lease_ttl_s * 1000)
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._made: list[CtDecision] = []

    # -- the public surface -----------------------------------------------------------------
    def policy(self, name: str) -> Policy:
        try:
            return self.policies[name]
        except KeyError:
            known = ", ".join(sorted(self.policies)) or "none"
            raise NotFoundError(
                f"no CT policy {name!r} (policies: {known}); define [ct.{name}] in loopml.toml",
                policy=name,
            ) from None

    def trigger(self, policy: str, reason: str, key: str | None = None) -> CtEvent:
        """A manual trigger; the next pass starts (or joins) a run. The same ``key`` twice is one
        event."""
        self.policy(policy)
        event_key = f"manual:{key or uuid.uuid4().hex}"
        event, created = self.store.add_event(
            policy, "manual", event_key, reason or "manual trigger", {"by": _user()}
        )
        if created:
            self._decide(
                policy,
                None,
                "trigger",
                "info",
                f"manual trigger: {event.reason}",
                {"key": event.key, "by": _user()},
            )
        return event

    def history(self, policy: str | None = None, limit: int = 1000) -> list[CtDecision]:
        return self.store.list_decisions(policy, limit=limit)

    def runs(self, policy: str | None = None, limit: int = 100) -> list[CtRun]:
        return self.store.list_runs(policy, limit=limit)

    def run_once(self, now: datetime | int | float | None = None) -> list[CtDecision]:
        """One pass over every policy; the decisions it made (empty when another controller
        holds the lease)."""
        self._made = []
        if not self.store.acquire_lease(LEASE, self.holder, self.lease_ttl_ms):
            held = self.store.lease_holder(LEASE)
            log.info("ct: another controller holds the lease (%s)", held[0] if held else "?")
            return []
        now_ms = _ms(now)
        for policy in self.policies.values():
            try:
                for event in collect(self.store, policy, now_ms, self.alerts):
                    self._decide(
                        policy.name,
                        None,
                        "trigger",
                        "info",
                        event.reason,
                        {"key": event.key, "kind": event.kind, **event.detail},
                    )
                self._advance(policy, now_ms)
            except StoreUnavailableError as exc:  # the database is away: try the next pass
                log.warning("ct.%s: %s", policy.name, exc.message)
            except Exception as exc:  # one broken policy must not stop the others
                message = (
                    exc.message if isinstance(exc, LoopmlError) else f"{type(exc).__name__}: {exc}"
                )
                log.warning("ct.%s: %s", policy.name, message)
                self._note_error(policy.name, message)
        return list(self._made)

    def _note_error(self, policy: str, message: str) -> None:
        """Record a pass's error once, not once per pass while it lasts."""
        last = self.store.list_decisions(policy, limit=1)
        if not last or last[0].step != "error" or last[0].reason != message:
            self._decide(policy, None, "error", "fail", message)

    def close(self) -> None:
        """Give the lease back, so a new controller need not wait for it to expire."""
        self.store.release_lease(LEASE, self.holder)

    # -- the state machine ------------------------------------------------------------------
    def _advance(self, policy: Policy, now_ms: int) -> None:
        run = self.store.active_run(policy.name)
        pending = self.store.list_events(policy.name, status="pending")
        if run is None:
            if not pending:
                return
            reason = "; ".join(e.reason for e in pending[:5])
            if len(pending) > 5:
                reason += f"; and {len(pending) - 5} more"
            run = self.store.start_run(
                policy.name, uuid.uuid4().hex, "triggered", reason, [e.id for e in pending]
            )
            if run is None:
                return
            self._decide(
                policy.name,
                run.run_id,
                "run",
                "info",
                f"run started by {len(pending)} event(s): {reason}",
                {"events": [e.key for e in pending]},
            )
        else:
            joining = [e for e in pending if e.kind == "alert"]
            if joining:
                self.store.coalesce_events(run.run_id, [e.id for e in joining])
                self._decide(
                    policy.name,
                    run.run_id,
                    "trigger",
                    "info",
                    f"{len(joining)} alert(s) joined run {run.run_id[:8]}, already "
                    f"{run.state}: one retrain answers them all",
                    {"events": [e.key for e in joining]},
                )
        ctx = steps.StepContext(self, policy, now_ms)
        for _ in range(16):  # each step moves on or waits; a bound guards against a loop
            try:
                nxt = steps.step(ctx, run)
            except StoreUnavailableError:
                raise  # the database is away: the next pass retries the same step
            except Exception as exc:  # a step that breaks ends its run, it does not spin
                nxt = self._on_error(ctx, run, exc)
            if nxt is None or nxt.finished:
                return
            run = nxt

    def _on_error(self, ctx: steps.StepContext, run: CtRun, exc: Exception) -> CtRun | None:
        """A step raised: fail the run, or (mid-canary) roll the canary back; the actions of a
        recorded verdict are retried next pass instead."""
        if isinstance(exc, InvalidStateError) and "another controller" in exc.message:
            return None  # moved under us: read it again next pass
        message = exc.message if isinstance(exc, LoopmlError) else f"{type(exc).__name__}: {exc}"
        log.warning("ct.%s: run %s (%s) failed: %s", run.policy, run.run_id, run.state, message)
        phase = run.data.get("phase")
        if run.state == "rolling_out" and phase in (None, "starting", "watching"):
            why = f"the rollout broke: {message}"
            ctx.decide(run, "rollout", "fail", why)
            return ctx.move(run, "rolling_out", data={"phase": "rolling_back", "verdict": why})
        if run.state == "rolling_out":
            last = self.store.list_decisions(run.policy, run_id=run.run_id, limit=1)
            if not last or last[0].reason != f"retrying {phase}: {message}":
                ctx.decide(run, "error", "fail", f"retrying {phase}: {message}")
            return None
        return ctx.finish(run, "failed", "error", "fail", f"{run.state} failed: {message}")

    def _decide(
        self,
        policy: str,
        run_id: str | None,
        step: str,
        outcome: str,
        reason: str,
        numbers: dict[str, Any] | None = None,
    ) -> CtDecision:
        decision = self.store.add_decision(
            policy, run_id, step, outcome, reason, numbers or {}, actor=ACTOR
        )
        self._made.append(decision)
        log.info("ct.%s %s %s: %s", policy, step, outcome, reason)
        return decision


def _user() -> str:
    from loopml.registry._stores import current_user

    return current_user()
