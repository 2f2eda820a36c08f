"""Deployments in the SQL metadata database, every change mirrored to the audit log.

A change appends a ``deployment_versions`` row and moves ``deployments.current_version`` in one
write transaction; the audit record (actor, action, version, config) follows the commit.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from loopml.errors import AlreadyExistsError, InvalidParameterError, NotFoundError
from loopml.store.metadata import schema_serving as s
from loopml.store.metadata.audit_sql import SqlAuditLog
from loopml.store.metadata.deployments_base import (
    DeploymentRecord,
    DeploymentStore,
    PayloadFile,
    RouteCounter,
)
from loopml.store.metadata.engine import Transactions

__all__ = ["SqlDeploymentStore"]

MAX_NAME = 255


def _now() -> int:
    return time.time_ns() // 1_000_000


class SqlDeploymentStore(Transactions, DeploymentStore):
    """Shares the engine of a :class:`SqlMetadataStore` (already migrated)."""

    def __init__(self, engine: Engine, *, audit: bool = True) -> None:
        self.engine = engine
        self._audit = SqlAuditLog(engine) if audit else None

    def create_deployment(
        self, name: str, config: dict[str, Any], user: str | None, message: str | None = None
    ) -> DeploymentRecord:
        _check_name(name)
        now = _now()

        def op(conn: Connection) -> DeploymentRecord:
            found = conn.execute(
                sa.select(s.deployments.c.name).where(s.deployments.c.name == name)
            ).first()
            if found is not None:
                raise AlreadyExistsError(
                    f"deployment {name!r} exists: change it with `loopml deploy update {name}`",
                    name=name,
                )
            conn.execute(
                s.deployments.insert().values(
                    name=name, current_version=1, created_ms=now, updated_ms=now
                )
            )
            return _insert_version(conn, name, 1, config, user, message or "create", now)

        record = self._write(op)
        self._record(user, "deployment.create", record)
        return record

    def add_version(
        self, name: str, config: dict[str, Any], user: str | None, message: str | None = None
    ) -> DeploymentRecord:
        now = _now()

        def op(conn: Connection) -> DeploymentRecord:
            dv = s.deployment_versions
            _current(conn, name)  # raises if absent
            last = conn.execute(sa.select(sa.func.max(dv.c.version)).where(dv.c.name == name))
            version = int(last.scalar_one() or 0) + 1
            conn.execute(
                s.deployments.update()
                .where(s.deployments.c.name == name)
                .values(current_version=version, updated_ms=now)
            )
            return _insert_version(conn, name, version, config, user, message or "update", now)

        record = self._write(op)
        action = (message or "update").split(" ", 1)[0]
        self._record(user, f"deployment.{action}", record)
        return record

    def get_deployment(self, name: str, version: int | None = None) -> DeploymentRecord:
        def op(conn: Connection) -> DeploymentRecord:
            current = _current(conn, name)
            rows = _versions(conn, name, current, version if version is not None else current)
            if not rows:
                raise NotFoundError(
                    f"deployment {name!r} has no version {version}; see `loopml deploy show "
                    f"{name} --history`",
                    name=name,
                    version=version or 0,
                )
            return rows[0]

        return self._read(op)

    def list_deployments(self) -> list[DeploymentRecord]:
        d, dv = s.deployments, s.deployment_versions
        q = (
            sa.select(dv)
            .join(d, sa.and_(d.c.name == dv.c.name, d.c.current_version == dv.c.version))
            .order_by(dv.c.name)
        )
        return self._read(lambda conn: [_record(r, True) for r in conn.execute(q)])

    def list_versions(self, name: str) -> list[DeploymentRecord]:
        return self._read(lambda conn: _versions(conn, name, _current(conn, name)))

    def delete_deployment(self, name: str) -> None:
        def op(conn: Connection) -> None:
            _current(conn, name)
            for table in (s.deployment_counters, s.deployment_versions, s.deployments):
                conn.execute(table.delete().where(table.c.name == name))
            # the log's objects become garbage for `loopml gc` once no index row pins them
            pf = s.payload_files
            conn.execute(pf.delete().where(pf.c.deployment == name))

        self._write(op)
        if self._audit is not None:
            self._audit.record("-", "deployment.delete", f"deployments/{name}", {})

    def add_counters(self, name: str, counters: list[RouteCounter]) -> None:
        now = _now()
        c = s.deployment_counters

        def op(conn: Connection) -> None:
            _current(conn, name)  # an unknown deployment is a 404, not a foreign-key failure
            for counter in counters:
                where = sa.and_(c.c.name == name, c.c.route == counter.route)
                done = conn.execute(
                    c.update()
                    .where(where)
                    .values(
                        model_uri=counter.model_uri,
                        requests=c.c.requests + counter.requests,
                        errors=c.c.errors + counter.errors,
                        latency_ms_sum=c.c.latency_ms_sum + counter.latency_ms_sum,
                        dropped=c.c.dropped + counter.dropped,
                        updated_ms=now,
                    )
                )
                if done.rowcount == 0:
                    conn.execute(
                        c.insert().values(
                            name=name,
                            route=counter.route,
                            model_uri=counter.model_uri,
                            requests=counter.requests,
                            errors=counter.errors,
                            latency_ms_sum=counter.latency_ms_sum,
                            dropped=counter.dropped,
                            updated_ms=now,
                        )
                    )

        self._write(op)

    def get_counters(self, name: str) -> list[RouteCounter]:
        c = s.deployment_counters
        q = sa.select(c).where(c.c.name == name).order_by(c.c.route)
        return self._read(
            lambda conn: [
                RouteCounter(
                    r.route,
                    r.model_uri,
                    r.requests,
                    r.errors,
                    r.latency_ms_sum,
                    r.updated_ms,
                    dropped=r.dropped,
                )
                for r in conn.execute(q)
            ]
        )

    def add_payload_file(self, deployment: str, f: PayloadFile) -> None:
        _check_payload_file(f)
        pf = s.payload_files

        def op(conn: Connection) -> None:
            _current(conn, deployment)
            found = conn.execute(
                sa.select(pf.c.rows).where(
                    pf.c.deployment == deployment, pf.c.object_hash == f.object_hash
                )
            ).first()
            if found is None:
                conn.execute(pf.insert().values(deployment=deployment, **f.to_dict()))

        self._write(op)

    def list_payload_files(
        self, deployment: str, since_ms: int | None = None, until_ms: int | None = None
    ) -> list[PayloadFile]:
        pf = s.payload_files
        q = sa.select(pf).where(pf.c.deployment == deployment)
        if since_ms is not None:
            q = q.where(pf.c.max_ts_ms >= since_ms)
        if until_ms is not None:
            q = q.where(pf.c.min_ts_ms < until_ms)
        q = q.order_by(pf.c.min_ts_ms, pf.c.object_hash)
        return self._read(
            lambda conn: [
                PayloadFile(r.object_hash, r.rows, r.min_ts_ms, r.max_ts_ms, r.created_ms)
                for r in conn.execute(q)
            ]
        )

    # -- helpers ----------------------------------------------------------------------------

    def _record(self, user: str | None, action: str, record: DeploymentRecord) -> None:
        if self._audit is not None:
            summary = {"version": record.version, "message": record.message, **record.config}
            self._audit.record(user or "-", action, f"deployments/{record.name}", summary)


def _check_name(name: str) -> None:
    if not name or len(name) > MAX_NAME or not all(ch.isalnum() or ch in "-_." for ch in name):
        raise InvalidParameterError(
            f"a deployment name is 1-{MAX_NAME} letters, digits, '-', '_' or '.'; got {name!r}",
            name=name,
        )


def _check_payload_file(f: PayloadFile) -> None:
    digest = f.object_hash
    if len(digest) != 64 or not all(ch in "0123456789abcdef" for ch in digest):
        raise InvalidParameterError(
            f"a payload file's object_hash is 64 lowercase hex digits, got {digest!r}"
        )
    if f.rows < 0 or f.min_ts_ms > f.max_ts_ms:
        raise InvalidParameterError(
            f"a payload file needs rows >= 0 and min_ts_ms <= max_ts_ms, got rows={f.rows}, "
            f"min_ts_ms={f.min_ts_ms}, max_ts_ms={f.max_ts_ms}"
        )


def _current(conn: Connection, name: str) -> int:
    row = conn.execute(
        sa.select(s.deployments.c.current_version).where(s.deployments.c.name == name)
    ).first()
    if row is None:
        raise NotFoundError(
            f"no deployment {name!r}; see `loopml deploy list`, or create it with "
            f"`loopml deploy create {name} --model <uri>`",
            name=name,
        )
    return int(row[0])


def _versions(
    conn: Connection, name: str, current: int, version: int | None = None
) -> list[DeploymentRecord]:
    dv = s.deployment_versions
    q = sa.select(dv).where(dv.c.name == name).order_by(dv.c.version.desc())
    if version is not None:
        q = q.where(dv.c.version == version)
    return [_record(r, r.version == current) for r in conn.execute(q)]


def _insert_version(
    conn: Connection,
    name: str,
    version: int,
    config: dict[str, Any],
    user: str | None,
    message: str,
    now: int,
) -> DeploymentRecord:
    conn.execute(
        s.deployment_versions.insert().values(
            name=name,
            version=version,
            config=orjson.dumps(config).decode(),
            message=message,
            user=user,
            created_ms=now,
        )
    )
    return DeploymentRecord(name, version, config, now, message, user, True)


def _record(row: Any, current: bool) -> DeploymentRecord:
    return DeploymentRecord(
        row.name,
        row.version,
        orjson.loads(row.config),
        row.created_ms,
        row.message,
        row.user,
        current,
    )
