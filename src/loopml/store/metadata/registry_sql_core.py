"""What the SQL registry store's parts share: transactions that also write history, look-ups.

Each change is one write transaction that also appends its ``registry_events`` row, so the
history can never disagree with the state. Promotion decisions, alias moves and policy changes
are mirrored to the server's audit log (``audit_sql``) once the transaction has committed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from loopml.errors import InvalidParameterError, NotFoundError
from loopml.store.metadata import schema_registry as r
from loopml.store.metadata.engine import retrying, write_transaction
from loopml.store.metadata.registry_entities import (
    DatasetLink,
    ModelVersion,
    VersionStatus,
    metrics_in,
)

T = TypeVar("T")
READY = VersionStatus.READY.value
AUDITED = ("alias.", "promotion.", "policy.", "model.delete", "version.status")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def dumps(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return orjson.dumps(value).decode()
    except TypeError as exc:  # e.g. an integer past 64 bits sent to the server
        raise InvalidParameterError(f"cannot store this value as JSON: {exc}") from None


def loads(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def no_model(name: str) -> NotFoundError:
    return NotFoundError(
        f"no registered model named {name!r}; see `loopml models list`, or register one with "
        "loopml.register_model('runs:/<run_id>/model', name)",
        name=name,
    )


def no_version(name: str, version: int) -> NotFoundError:
    return NotFoundError(
        f"model {name!r} has no version {version}; see `loopml models versions {name}`",
        name=name,
        version=version,
    )


class SqlRegistryCore:
    """The engine, the transaction helpers and the version loader every part uses."""

    def __init__(self, engine: Engine, *, audit: bool = True) -> None:
        self.engine = engine
        self._audit: Any = None
        if audit:
            from loopml.store.metadata.audit_sql import SqlAuditLog

            self._audit = SqlAuditLog(engine)

    def close(self) -> None:
        """The engine belongs to the metadata store, which disposes of it."""

    # -- helpers ----------------------------------------------------------------------------
    def _write(self, fn: Callable[[Connection], T]) -> T:
        events: list[tuple[str, str, str, dict[str, Any]]] = []

        def attempt() -> T:
            events.clear()
            with write_transaction(self.engine) as conn:
                conn.info["loopml_registry_events"] = events
                try:
                    return fn(conn)
                finally:
                    conn.info.pop("loopml_registry_events", None)

        result = retrying(attempt)
        if self._audit is not None:
            for actor, action, target, summary in events:
                self._audit.record(actor, action, target, summary)
        return result

    def _read(self, fn: Callable[[Connection], T]) -> T:
        def attempt() -> T:
            with self.engine.connect() as conn:
                return fn(conn)

        return retrying(attempt)

    @staticmethod
    def _event(
        conn: Connection,
        actor: str | None,
        action: str,
        name: str,
        version: int | None = None,
        alias: str | None = None,
        reason: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        conn.execute(
            r.registry_events.insert().values(
                ts_ms=now_ms(),
                actor=actor,
                action=action,
                name=name,
                version=version,
                alias=alias,
                reason=reason,
                detail=dumps(dict(detail)) if detail else None,
            )
        )
        if action.startswith(AUDITED):
            target = f"models:/{name}" + (f"/{version}" if version is not None else "")
            summary = {"alias": alias, "reason": reason, **(detail or {})}
            queue = conn.info.get("loopml_registry_events")
            if queue is not None:
                queue.append((actor or "local", f"registry.{action}", target, summary))

    def _upsert(self) -> Any:
        from sqlalchemy.dialects import postgresql, sqlite

        return postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert

    @staticmethod
    def _require_model(conn: Connection, name: str) -> None:
        m = r.registered_models
        if conn.execute(sa.select(m.c.name).where(m.c.name == name)).first() is None:
            raise no_model(name)

    @staticmethod
    def _version_status(conn: Connection, name: str, version: int) -> str:
        v = r.model_versions
        row = conn.execute(
            sa.select(v.c.status).where(v.c.name == name, v.c.version == version)
        ).first()
        if row is None:
            SqlRegistryCore._require_model(conn, name)
            raise no_version(name, version)
        return str(row.status)

    def _versions(self, conn: Connection, rows: Sequence[Any]) -> list[ModelVersion]:
        if not rows:
            return []
        keys = {(row.name, row.version) for row in rows}
        names = sorted({n for n, _ in keys})
        tags: dict[tuple[str, int], dict[str, str]] = {k: {} for k in keys}
        datasets: dict[tuple[str, int], list[DatasetLink]] = {k: [] for k in keys}
        aliases: dict[tuple[str, int], list[str]] = {k: [] for k in keys}
        t, d, a = r.model_version_tags, r.model_version_datasets, r.model_aliases
        for n, ver, k, val in conn.execute(
            sa.select(t.c.name, t.c.version, t.c.key, t.c.value).where(t.c.name.in_(names))
        ):
            if (n, ver) in keys:
                tags[(n, ver)][k] = val
        for n, ver, uri, digest, context in conn.execute(
            sa.select(d.c.name, d.c.version, d.c.uri, d.c.digest, d.c.context)
            .where(d.c.name.in_(names))
            .order_by(d.c.uri)
        ):
            if (n, ver) in keys:
                datasets[(n, ver)].append(DatasetLink(uri, digest, context))
        for n, al, ver in conn.execute(
            sa.select(a.c.name, a.c.alias, a.c.version)
            .where(a.c.name.in_(names))
            .order_by(a.c.alias)
        ):
            if (n, ver) in keys:
                aliases[(n, ver)].append(al)
        return [
            ModelVersion(
                name=row.name,
                version=row.version,
                status=VersionStatus(row.status),
                source_uri=row.source_uri,
                run_id=row.run_id,
                package_hash=row.package_hash,
                flavor=row.flavor,
                created_ms=row.created_ms,
                updated_ms=row.updated_ms,
                user=row.user,
                description=row.description,
                signature=loads(row.signature),
                metrics=metrics_in(loads(row.metrics)),
                params=loads(row.params) or {},
                datasets=datasets[(row.name, row.version)],
                tags=tags[(row.name, row.version)],
                aliases=aliases[(row.name, row.version)],
            )
            for row in rows
        ]
