"""Exactly-once metric batches: a batch's idempotency key is stored in the same transaction
as its points, so a batch a client retried (it never saw the first answer) is stored once.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loopml.errors import NotFoundError
from loopml.store.metadata import schema_server as s
from loopml.store.metadata.base import MetricPoint
from loopml.store.metadata.sql import SqlMetadataStore

KEEP_KEYS_MS = 7 * 86_400_000  # a retry arrives within seconds; a week is ample


def log_metrics_once(store: SqlMetadataStore, key: str, points: Sequence[MetricPoint]) -> bool:
    """Store ``points`` unless a batch with ``key`` was stored before; True if written now."""
    insert = store._upsert()

    def op(conn: Connection) -> bool:
        stmt = insert(s.idempotency_keys).values(key=key, created_ms=time.time_ns() // 1_000_000)
        if conn.execute(stmt.on_conflict_do_nothing(index_elements=["key"])).rowcount == 0:
            return False
        if points:
            store.write_points(conn, points)
        return True

    try:
        return store._write(op)
    except sa.exc.IntegrityError as exc:
        unknown = store._unknown_runs({r for r, *_ in points})
        if unknown:
            raise NotFoundError(
                f"cannot log metrics: no run with id {sorted(unknown)[0]!r}"
            ) from exc
        raise


def forget_old_keys(store: SqlMetadataStore, older_than_ms: int = KEEP_KEYS_MS) -> int:
    cutoff = time.time_ns() // 1_000_000 - older_than_ms

    def op(conn: Connection) -> int:
        table = s.idempotency_keys
        return int(conn.execute(table.delete().where(table.c.created_ms < cutoff)).rowcount)

    return store._write(op)
