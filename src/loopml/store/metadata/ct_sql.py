"""The controller's records in the SQL metadata database, each decision mirrored to the audit log.

Both invariants are enforced by the database, not by the caller: the unique (policy, key) of
``ct_events`` and the partial unique index on unfinished ``ct_runs``. Run updates are
compare-and-set on the state, so a stale controller cannot move a run another one has moved.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from loopml.errors import InvalidParameterError, InvalidStateError, NotFoundError
from loopml.store.metadata import schema_ct as s
from loopml.store.metadata.audit_sql import SqlAuditLog
from loopml.store.metadata.ct_base import FINAL_STATES, CtDecision, CtEvent, CtRun, CtStore
from loopml.store.metadata.engine import Transactions

__all__ = ["SqlCtStore"]

_RUN_FIELDS = frozenset({"state", "pipeline_run_id", "candidate", "champion", "outcome", "data"})


def _now() -> int:
    return time.time_ns() // 1_000_000


def _json(value: Any) -> str:
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


class SqlCtStore(Transactions, CtStore):
    """Shares the engine of a :class:`SqlMetadataStore` (already migrated)."""

    def __init__(self, engine: Engine, *, audit: bool = True) -> None:
        self.engine = engine
        self._audit = SqlAuditLog(engine) if audit else None

    # -- events -----------------------------------------------------------------------------
    def add_event(
        self, policy: str, kind: str, key: str, reason: str, detail: dict[str, Any]
    ) -> tuple[CtEvent, bool]:
        if not key or len(key) > 512:
            raise InvalidParameterError(f"an event key is 1-512 characters, got {len(key)}")
        e = s.ct_events
        where = sa.and_(e.c.policy == policy, e.c.key == key)

        def op(conn: Connection) -> tuple[CtEvent, bool]:
            found = conn.execute(sa.select(e).where(where)).first()
            if found is not None:
                return _event(found), False
            conn.execute(
                e.insert().values(
                    policy=policy,
                    kind=kind,
                    key=key,
                    reason=reason,
                    detail=_json(detail),
                    status="pending",
                    created_ms=_now(),
                )
            )
            return _event(conn.execute(sa.select(e).where(where)).one()), True

        try:
            return self._write(op)
        except sa.exc.IntegrityError:  # another controller inserted it first (PostgreSQL)
            row = self._read(lambda conn: conn.execute(sa.select(e).where(where)).one())
            return _event(row), False

    def list_events(
        self, policy: str, *, status: str | None = None, limit: int = 1000
    ) -> list[CtEvent]:
        e = s.ct_events
        q = sa.select(e).where(e.c.policy == policy).order_by(e.c.id.desc()).limit(limit)
        if status is not None:
            q = q.where(e.c.status == status)
        return self._read(lambda conn: [_event(r) for r in conn.execute(q)][::-1])

    def start_run(
        self, policy: str, run_id: str, state: str, reason: str, event_ids: list[int]
    ) -> CtRun | None:
        now = _now()
        r, e = s.ct_runs, s.ct_events

        def op(conn: Connection) -> CtRun | None:
            active = conn.execute(
                sa.select(r.c.run_id).where(r.c.policy == policy, r.c.finished_ms.is_(None))
            ).first()
            if active is not None:
                return None
            conn.execute(
                r.insert().values(
                    run_id=run_id,
                    policy=policy,
                    state=state,
                    reason=reason,
                    data="{}",
                    created_ms=now,
                    updated_ms=now,
                )
            )
            if event_ids:
                conn.execute(
                    e.update()
                    .where(e.c.id.in_(event_ids), e.c.status == "pending")
                    .values(status="consumed", run_id=run_id)
                )
            return _run(conn.execute(sa.select(r).where(r.c.run_id == run_id)).one())

        try:
            return self._write(op)
        except sa.exc.IntegrityError:  # the one-active-run index refused a concurrent start
            return None

    def coalesce_events(self, run_id: str, event_ids: list[int]) -> None:
        if not event_ids:
            return
        e = s.ct_events
        self._write(
            lambda conn: conn.execute(
                e.update()
                .where(e.c.id.in_(event_ids), e.c.status == "pending")
                .values(status="coalesced", run_id=run_id)
            )
        )

    # -- runs -------------------------------------------------------------------------------
    def active_run(self, policy: str) -> CtRun | None:
        r = s.ct_runs
        q = sa.select(r).where(r.c.policy == policy, r.c.finished_ms.is_(None))
        row = self._read(lambda conn: conn.execute(q).first())
        return None if row is None else _run(row)

    def get_run(self, run_id: str) -> CtRun:
        r = s.ct_runs
        row = self._read(
            lambda conn: conn.execute(sa.select(r).where(r.c.run_id == run_id)).first()
        )
        if row is None:
            raise NotFoundError(
                f"no controller run {run_id!r}; see `loopml ct history <policy>`", run_id=run_id
            )
        return _run(row)

    def list_runs(self, policy: str | None = None, *, limit: int = 100) -> list[CtRun]:
        r = s.ct_runs
        q = sa.select(r).order_by(r.c.created_ms.desc(), r.c.run_id).limit(limit)
        if policy is not None:
            q = q.where(r.c.policy == policy)
        return self._read(lambda conn: [_run(row) for row in conn.execute(q)])

    def update_run(self, run_id: str, expect_state: str, **changes: Any) -> CtRun:
        unknown = set(changes) - _RUN_FIELDS
        if unknown:
            raise InvalidParameterError(f"cannot change {sorted(unknown)} of a controller run")
        r = s.ct_runs
        now = _now()

        def op(conn: Connection) -> CtRun:
            # FOR UPDATE: on PostgreSQL a second writer waits here and then sees the new state
            q = sa.select(r).where(r.c.run_id == run_id).with_for_update()
            row = conn.execute(q).first()
            if row is None:
                raise NotFoundError(f"no controller run {run_id!r}", run_id=run_id)
            if row.state != expect_state:
                raise InvalidStateError(
                    f"controller run {run_id} is {row.state}, not {expect_state}: another "
                    "controller moved it",
                    run_id=run_id,
                )
            values: dict[str, Any] = {k: v for k, v in changes.items() if k != "data"}
            if "data" in changes:
                values["data"] = _json({**orjson.loads(row.data), **changes["data"]})
            values["updated_ms"] = now
            if changes.get("state") in FINAL_STATES:
                values["finished_ms"] = now
            conn.execute(r.update().where(r.c.run_id == run_id).values(**values))
            return _run(conn.execute(sa.select(r).where(r.c.run_id == run_id)).one())

        return self._write(op)

    # -- decisions --------------------------------------------------------------------------
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
        d = s.ct_decisions
        now = _now()
        body = _json(numbers)

        def op(conn: Connection) -> int:
            result = conn.execute(
                d.insert().values(
                    policy=policy,
                    run_id=run_id,
                    ts_ms=now,
                    step=step,
                    outcome=outcome,
                    reason=reason,
                    numbers=body,
                )
            )
            key = result.inserted_primary_key
            return int(key[0]) if key else 0

        decision_id = self._write(op)
        if self._audit is not None:
            summary = {"run_id": run_id, "outcome": outcome, "reason": reason, **numbers}
            self._audit.record(actor, f"ct.{step}", f"ct/{policy}", summary)
        return CtDecision(
            decision_id, policy, run_id, now, step, outcome, reason, orjson.loads(body)
        )

    def list_decisions(
        self, policy: str | None = None, *, run_id: str | None = None, limit: int = 1000
    ) -> list[CtDecision]:
        d = s.ct_decisions
        q = sa.select(d).order_by(d.c.id.desc()).limit(limit)
        if policy is not None:
            q = q.where(d.c.policy == policy)
        if run_id is not None:
            q = q.where(d.c.run_id == run_id)
        return self._read(
            lambda conn: [
                CtDecision(
                    r.id,
                    r.policy,
                    r.run_id,
                    r.ts_ms,
                    r.step,
                    r.outcome,
                    r.reason,
                    orjson.loads(r.numbers),
                )
                for r in conn.execute(q)
            ][::-1]
        )

    # -- watermarks and leases --------------------------------------------------------------
    def get_watermark(self, policy: str, trigger: str) -> str | None:
        w = s.ct_watermarks
        q = sa.select(w.c.value).where(w.c.policy == policy, w.c.trigger == trigger)
        return self._read(lambda conn: conn.execute(q).scalar())

    def set_watermark(self, policy: str, trigger: str, value: str) -> None:
        w = s.ct_watermarks
        now = _now()

        def op(conn: Connection) -> None:
            done = conn.execute(
                w.update()
                .where(w.c.policy == policy, w.c.trigger == trigger)
                .values(value=value, updated_ms=now)
            )
            if done.rowcount == 0:
                conn.execute(
                    w.insert().values(policy=policy, trigger=trigger, value=value, updated_ms=now)
                )

        self._write(op)

    def acquire_lease(self, name: str, holder: str, ttl_ms: int) -> bool:
        lease = s.ct_leases
        now = _now()

        def op(conn: Connection) -> bool:
            q = sa.select(lease).where(lease.c.name == name).with_for_update()
            row = conn.execute(q).first()
            if row is None:
                conn.execute(
                    lease.insert().values(
                        name=name, holder=holder, expires_ms=now + ttl_ms, acquired_ms=now
                    )
                )
                return True
            if row.holder != holder and row.expires_ms > now:
                return False
            acquired = row.acquired_ms if row.holder == holder else now
            conn.execute(
                lease.update()
                .where(lease.c.name == name, lease.c.holder == row.holder)
                .values(holder=holder, expires_ms=now + ttl_ms, acquired_ms=acquired)
            )
            return True

        try:
            return self._write(op)
        except sa.exc.IntegrityError:  # another controller created the row at the same moment
            return False

    def release_lease(self, name: str, holder: str) -> None:
        lease = s.ct_leases
        self._write(
            lambda conn: conn.execute(
                lease.delete().where(lease.c.name == name, lease.c.holder == holder)
            )
        )

    def lease_holder(self, name: str) -> tuple[str, int] | None:
        lease = s.ct_leases
        q = sa.select(lease.c.holder, lease.c.expires_ms).where(lease.c.name == name)
        row = self._read(lambda conn: conn.execute(q).first())
        return None if row is None else (str(row[0]), int(row[1]))


def _event(row: Any) -> CtEvent:
    return CtEvent(
        row.id,
        row.policy,
        row.kind,
        row.key,
        row.reason,
        orjson.loads(row.detail),
        row.status,
        row.run_id,
        row.created_ms,
    )


def _run(row: Any) -> CtRun:
    return CtRun(
        run_id=row.run_id,
        policy=row.policy,
        state=row.state,
        reason=row.reason,
        data=orjson.loads(row.data),
        created_ms=row.created_ms,
        updated_ms=row.updated_ms,
        pipeline_run_id=row.pipeline_run_id,
        candidate=row.candidate,
        champion=row.champion,
        outcome=row.outcome,
        finished_ms=row.finished_ms,
    )
