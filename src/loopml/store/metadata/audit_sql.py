"""The audit trail in the metadata database: one row per change, never updated or deleted."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from loopml.errors import InvalidParameterError
from loopml.store.metadata import schema_server as s
from loopml.store.metadata.auth import AuditLog, AuditRecord
from loopml.store.metadata.engine import retrying, write_transaction

MAX_SUMMARY = 16_384  # bytes of JSON kept per record: a summary, not a copy of the data


def _summary_json(summary: Mapping[str, Any] | None) -> str:
    text = orjson.dumps(dict(summary or {}), default=str).decode()
    if len(text) > MAX_SUMMARY:
        text = orjson.dumps({"truncated": text[: MAX_SUMMARY - 64]}).decode()
    return text


class SqlAuditLog(AuditLog):
    """Shares the engine of a :class:`SqlMetadataStore` (already migrated)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(
        self,
        actor: str,
        action: str,
        target: str,
        summary: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> None:
        row = {
            "ts_ms": time.time_ns() // 1_000_000,
            "actor": actor[:128],
            "action": action[:128],
            "target": target[:512],
            "summary": _summary_json(summary),
            "request_id": request_id[:64] if request_id else None,
        }

        def attempt() -> None:
            with write_transaction(self.engine) as conn:
                conn.execute(s.audit_log.insert().values(row))

        retrying(attempt)

    def query(
        self,
        *,
        since_ms: int | None = None,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        limit: int = 1000,
    ) -> list[AuditRecord]:
        if not 0 < limit <= 100_000:
            raise InvalidParameterError(f"limit must be between 1 and 100000, got {limit}")
        log = s.audit_log
        q = sa.select(log).order_by(log.c.ts_ms.desc(), log.c.id.desc()).limit(limit)
        if since_ms is not None:
            q = q.where(log.c.ts_ms >= since_ms)
        if actor:
            q = q.where(log.c.actor == actor)
        if action:
            q = q.where(log.c.action.startswith(action, autoescape=True))
        if target:
            q = q.where(log.c.target.startswith(target, autoescape=True))

        def op(conn: Connection) -> list[AuditRecord]:
            return [
                AuditRecord(
                    id=r.id,
                    ts_ms=r.ts_ms,
                    actor=r.actor,
                    action=r.action,
                    target=r.target,
                    summary=orjson.loads(r.summary),
                    request_id=r.request_id,
                )
                for r in conn.execute(q)
            ]

        return retrying(lambda: _read(self.engine, op))


def _read(engine: Engine, op: Any) -> list[AuditRecord]:
    with engine.connect() as conn:
        result: list[AuditRecord] = op(conn)
        return result
