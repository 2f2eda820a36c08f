"""Monitoring records in the SQL metadata database (SQLite or PostgreSQL).

Windows and their cursor move together in one write transaction: a crash between computing a
window and storing it recomputes it next time, and a window stored twice is impossible (the
unique key on deployment, spec, model version and start).
"""

from __future__ import annotations

import time
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from loopml.errors import NotFoundError
from loopml.store.metadata import schema_monitoring as m
from loopml.store.metadata.engine import Transactions
from loopml.store.metadata.monitoring_base import Alert, MonitoringStore, NewWindow, WindowRecord

__all__ = ["SqlMonitoringStore"]


def _now() -> int:
    return time.time_ns() // 1_000_000


def _dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()


class SqlMonitoringStore(Transactions, MonitoringStore):
    """Shares the engine of a :class:`SqlMetadataStore` (already migrated)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- windows ------------------------------------------------------------------------------
    def add_windows(
        self, windows: list[NewWindow], deployment: str, spec: str, cursor: dict[str, Any]
    ) -> list[WindowRecord]:
        w, c = m.monitor_windows, m.monitor_cursors
        now = _now()

        def op(conn: Connection) -> list[WindowRecord]:
            ids: list[int] = []
            for win in windows:
                key = sa.and_(
                    w.c.deployment == win.deployment,
                    w.c.spec == win.spec,
                    w.c.model_version == win.model_version,
                    w.c.start_ms == win.start_ms,
                )
                found = conn.execute(sa.select(w.c.id).where(key)).first()
                if found is not None:
                    ids.append(int(found[0]))
                    continue
                done = conn.execute(
                    w.insert().values(
                        deployment=win.deployment,
                        spec=win.spec,
                        model_version=win.model_version,
                        model_uri=win.model_uri,
                        start_ms=win.start_ms,
                        end_ms=win.end_ms,
                        requests=win.requests,
                        rows=win.rows,
                        metrics=_dumps(win.metrics),
                        snapshot_hash=win.snapshot_hash,
                        created_ms=now,
                    )
                )
                ids.append(_inserted_id(done))
            where = sa.and_(c.c.deployment == deployment, c.c.spec == spec)
            text = _dumps(cursor)
            if conn.execute(c.update().where(where).values(position=text, updated_ms=now)).rowcount:
                pass
            else:
                conn.execute(
                    c.insert().values(
                        deployment=deployment, spec=spec, position=text, updated_ms=now
                    )
                )
            rows = conn.execute(sa.select(w).where(w.c.id.in_(ids)).order_by(w.c.start_ms, w.c.id))
            return [_window(r) for r in rows]

        try:
            return self._write(op)
        except sa.exc.IntegrityError:  # another process stored the same window first: keep it
            return self._write(op)

    def get_cursor(self, deployment: str, spec: str) -> dict[str, Any] | None:
        c = m.monitor_cursors
        q = sa.select(c.c.position).where(c.c.deployment == deployment, c.c.spec == spec)

        def op(conn: Connection) -> dict[str, Any] | None:
            row = conn.execute(q).first()
            return None if row is None else dict(orjson.loads(row[0]))

        return self._read(op)

    def list_windows(
        self,
        deployment: str,
        *,
        spec: str | None = None,
        model_version: str | None = None,
        since_ms: int | None = None,
        limit: int | None = None,
    ) -> list[WindowRecord]:
        w = m.monitor_windows
        q = sa.select(w).where(w.c.deployment == deployment)
        if spec is not None:
            q = q.where(w.c.spec == spec)
        if model_version is not None:
            q = q.where(w.c.model_version == model_version)
        if since_ms is not None:
            q = q.where(w.c.end_ms > since_ms)
        q = q.order_by(w.c.start_ms.desc(), w.c.id.desc())
        if limit is not None:
            q = q.limit(limit)
        rows = self._read(lambda conn: [_window(r) for r in conn.execute(q)])
        return rows[::-1]

    def get_window(self, window_id: int) -> WindowRecord:
        w = m.monitor_windows

        def op(conn: Connection) -> WindowRecord:
            row = conn.execute(sa.select(w).where(w.c.id == window_id)).first()
            if row is None:
                raise NotFoundError(f"no monitoring window {window_id}", window_id=window_id)
            return _window(row)

        return self._read(op)

    def update_window_metrics(
        self, window_id: int, metrics: dict[str, Any], labels_ms: int
    ) -> None:
        w = m.monitor_windows
        stmt = (
            w.update()
            .where(w.c.id == window_id)
            .values(metrics=_dumps(metrics), labels_ms=labels_ms)
        )
        self._write(lambda conn: conn.execute(stmt))

    # -- feedback ------------------------------------------------------------------------------
    def add_feedback(self, deployment: str, items: list[tuple[str, int, str]]) -> int:
        f = m.monitor_feedback
        now = _now()
        unique = {(rid, row): label for rid, row, label in items}

        def op(conn: Connection) -> int:
            keys = list(unique)
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                ids = sorted({rid for rid, _ in chunk})
                conn.execute(
                    f.delete().where(
                        f.c.deployment == deployment,
                        f.c.request_id.in_(ids),
                        sa.tuple_(f.c.request_id, f.c.row).in_(chunk),
                    )
                )
            if keys:
                conn.execute(
                    f.insert(),
                    [
                        {
                            "deployment": deployment,
                            "request_id": rid,
                            "row": row,
                            "label": unique[(rid, row)],
                            "created_ms": now,
                        }
                        for rid, row in keys
                    ],
                )
            return len(keys)

        return self._write(op)

    def get_feedback(self, deployment: str, request_ids: list[str]) -> list[tuple[str, int, str]]:
        f = m.monitor_feedback
        wanted = sorted(set(request_ids))

        def op(conn: Connection) -> list[tuple[str, int, str]]:
            out: list[tuple[str, int, str]] = []
            for start in range(0, len(wanted), 900):
                chunk = wanted[start : start + 900]
                q = sa.select(f.c.request_id, f.c.row, f.c.label).where(
                    f.c.deployment == deployment, f.c.request_id.in_(chunk)
                )
                out.extend((r[0], int(r[1]), r[2]) for r in conn.execute(q))
            return out

        return self._read(op)

    def last_feedback_ms(self, deployment: str) -> int | None:
        f = m.monitor_feedback
        q = sa.select(sa.func.max(f.c.created_ms)).where(f.c.deployment == deployment)
        value = self._read(lambda conn: conn.execute(q).scalar())
        return None if value is None else int(value)

    # -- alerts --------------------------------------------------------------------------------
    def add_alert(self, alert: Alert) -> Alert:
        a = m.monitor_alerts
        created = alert.created_ms or _now()

        def op(conn: Connection) -> Alert:
            done = conn.execute(
                a.insert().values(
                    deployment=alert.deployment,
                    name=alert.name,
                    severity=alert.severity,
                    message=alert.message,
                    value=alert.value,
                    threshold=alert.threshold,
                    window_id=alert.window_id,
                    rule=alert.rule,
                    created_ms=created,
                )
            )
            key = _inserted_id(done)
            row = conn.execute(sa.select(a).where(a.c.id == key)).one()
            return _alert(row)

        return self._write(op)

    def list_alerts(
        self,
        deployment: str | None = None,
        *,
        since_ms: int | None = None,
        name: str | None = None,
        limit: int | None = None,
    ) -> list[Alert]:
        a = m.monitor_alerts
        q = sa.select(a)
        if deployment is not None:
            q = q.where(a.c.deployment == deployment)
        if since_ms is not None:
            q = q.where(a.c.created_ms >= since_ms)
        if name is not None:
            q = q.where(a.c.name == name)
        q = q.order_by(a.c.created_ms.desc(), a.c.id.desc())
        if limit is not None:
            q = q.limit(limit)
        rows = self._read(lambda conn: [_alert(r) for r in conn.execute(q)])
        return rows[::-1]

    # -- reference predictions -----------------------------------------------------------------
    def get_reference(self, key: str) -> str | None:
        r = m.monitor_references
        q = sa.select(r.c.object_hash).where(r.c.key == key)
        row = self._read(lambda conn: conn.execute(q).first())
        return None if row is None else str(row[0])

    def put_reference(self, key: str, object_hash: str) -> None:
        r = m.monitor_references

        def op(conn: Connection) -> None:
            conn.execute(r.delete().where(r.c.key == key))
            conn.execute(r.insert().values(key=key, object_hash=object_hash, created_ms=_now()))

        self._write(op)


def _inserted_id(result: Any) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _window(row: Any) -> WindowRecord:
    return WindowRecord(
        deployment=row.deployment,
        spec=row.spec,
        model_version=row.model_version,
        model_uri=row.model_uri,
        start_ms=int(row.start_ms),
        end_ms=int(row.end_ms),
        requests=int(row.requests),
        rows=int(row.rows),
        metrics=orjson.loads(row.metrics),
        snapshot_hash=row.snapshot_hash,
        id=int(row.id),
        labels_ms=None if row.labels_ms is None else int(row.labels_ms),
        created_ms=int(row.created_ms),
    )


def _alert(row: Any) -> Alert:
    return Alert(
        deployment=row.deployment,
        name=row.name,
        severity=row.severity,
        message=row.message,
        value=row.value,
        threshold=row.threshold,
        window_id=None if row.window_id is None else int(row.window_id),
        rule=row.rule,
        created_ms=int(row.created_ms),
        id=int(row.id),
    )
