"""Aliases, approval policies, promotion requests and history of the SQL registry store.

Approving a request moves its alias in the same transaction, so an approved promotion is never
left half done; a request is decided once (a second decision is ``INVALID_STATE``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loopml.errors import InvalidParameterError, InvalidStateError, NotFoundError
from loopml.store.metadata import schema_registry as r
from loopml.store.metadata.registry_entities import (
    AliasPolicy,
    ModelVersion,
    PromotionRequest,
    RegistryEvent,
    RequestStatus,
    check_alias,
)
from loopml.store.metadata.registry_sql_core import (
    READY,
    SqlRegistryCore,
    dumps,
    loads,
    now_ms,
)


class SqlPromotions(SqlRegistryCore):
    # -- aliases ----------------------------------------------------------------------------
    def _move_alias(
        self,
        conn: Connection,
        name: str,
        alias: str,
        version: int,
        actor: str | None,
        reason: str | None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        status = self._version_status(conn, name, version)
        if status != READY:
            raise InvalidStateError(
                f"version {version} of {name!r} is {status}: only a READY version can hold an "
                f"alias; restore it with `loopml models restore {name} {version}` or pick another",
                name=name,
                version=version,
            )
        a = r.model_aliases
        previous = conn.execute(
            sa.select(a.c.version).where(a.c.name == name, a.c.alias == alias)
        ).scalar()
        stmt = self._upsert()(a).values(
            name=name, alias=alias, version=version, updated_ms=now_ms()
        )
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["name", "alias"],
                set_={"version": stmt.excluded.version, "updated_ms": stmt.excluded.updated_ms},
            )
        )
        self._event(
            conn,
            actor,
            "alias.set",
            name,
            version,
            alias,
            reason,
            {"previous_version": previous, **(detail or {})},
        )

    def set_alias(
        self,
        name: str,
        alias: str,
        version: int,
        *,
        actor: str | None = None,
        reason: str | None = None,
    ) -> None:
        check_alias(alias)
        self._write(lambda conn: self._move_alias(conn, name, alias, int(version), actor, reason))

    def delete_alias(
        self, name: str, alias: str, *, actor: str | None = None, reason: str | None = None
    ) -> None:
        def op(conn: Connection) -> None:
            a = r.model_aliases
            previous = conn.execute(
                sa.select(a.c.version).where(a.c.name == name, a.c.alias == alias)
            ).scalar()
            if previous is None:
                self._require_model(conn, name)
                raise NotFoundError(f"model {name!r} has no alias {alias!r}")
            conn.execute(a.delete().where(a.c.name == name, a.c.alias == alias))
            self._event(conn, actor, "alias.delete", name, previous, alias, reason)

        self._write(op)

    def get_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        def op(conn: Connection) -> ModelVersion:
            a, v = r.model_aliases, r.model_versions
            row = conn.execute(
                sa.select(v)
                .join(a, sa.and_(a.c.name == v.c.name, a.c.version == v.c.version))
                .where(a.c.name == name, a.c.alias == alias)
            ).first()
            if row is None:
                self._require_model(conn, name)
                raise NotFoundError(
                    f"model {name!r} has no alias {alias!r}; set it with "
                    f"`loopml models alias {name} {alias} <version>`",
                    name=name,
                    alias=alias,
                )
            return self._versions(conn, [row])[0]

        return self._read(op)

    # -- approval policies and promotion requests -------------------------------------------
    def set_policy(
        self,
        name: str,
        alias: str,
        approvers: Sequence[str] = (),
        *,
        actor: str | None = None,
    ) -> AliasPolicy:
        check_alias(alias)
        policy = AliasPolicy(name, alias, sorted(set(approvers)), now_ms(), actor)

        def op(conn: Connection) -> None:
            self._require_model(conn, name)
            stmt = self._upsert()(r.alias_policies).values(
                name=name,
                alias=alias,
                approvers=dumps(policy.approvers),
                created_ms=policy.created_ms,
                created_by=actor,
            )
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["name", "alias"],
                    set_={c: stmt.excluded[c] for c in ("approvers", "created_ms", "created_by")},
                )
            )
            self._event(
                conn, actor, "policy.set", name, alias=alias, detail={"approvers": policy.approvers}
            )

        self._write(op)
        return policy

    def delete_policy(self, name: str, alias: str, *, actor: str | None = None) -> None:
        def op(conn: Connection) -> None:
            p = r.alias_policies
            if conn.execute(p.delete().where(p.c.name == name, p.c.alias == alias)).rowcount == 0:
                self._require_model(conn, name)
                raise NotFoundError(f"alias {alias!r} of {name!r} has no approval policy")
            self._event(conn, actor, "policy.delete", name, alias=alias)

        self._write(op)

    def list_policies(self, name: str) -> list[AliasPolicy]:
        def op(conn: Connection) -> list[AliasPolicy]:
            self._require_model(conn, name)
            p = r.alias_policies
            return [
                AliasPolicy(
                    row.name, row.alias, loads(row.approvers), row.created_ms, row.created_by
                )
                for row in conn.execute(sa.select(p).where(p.c.name == name).order_by(p.c.alias))
            ]

        return self._read(op)

    @staticmethod
    def _request(row: Any) -> PromotionRequest:
        return PromotionRequest(
            request_id=row.request_id,
            name=row.name,
            version=row.version,
            alias=row.alias,
            status=RequestStatus(row.status),
            requested_by=row.requested_by,
            requested_ms=row.requested_ms,
            reason=row.reason,
            decided_by=row.decided_by,
            decided_ms=row.decided_ms,
            decision_reason=row.decision_reason,
        )

    def create_promotion_request(
        self,
        name: str,
        version: int,
        alias: str,
        *,
        actor: str | None = None,
        reason: str | None = None,
    ) -> PromotionRequest:
        check_alias(alias)
        p = r.promotion_requests

        def op(conn: Connection) -> str:
            status = self._version_status(conn, name, version)
            if status != READY:
                raise InvalidStateError(
                    f"version {version} of {name!r} is {status}: only a READY version can be "
                    "promoted",
                    name=name,
                    version=version,
                )
            existing = conn.execute(
                sa.select(p.c.request_id).where(
                    p.c.name == name,
                    p.c.version == version,
                    p.c.alias == alias,
                    p.c.status == RequestStatus.PENDING.value,
                )
            ).scalar()
            if existing is not None:
                return str(existing)
            request_id = uuid.uuid4().hex
            conn.execute(
                p.insert().values(
                    request_id=request_id,
                    name=name,
                    version=version,
                    alias=alias,
                    status=RequestStatus.PENDING.value,
                    requested_by=actor,
                    requested_ms=now_ms(),
                    reason=reason,
                )
            )
            self._event(
                conn,
                actor,
                "promotion.request",
                name,
                version,
                alias,
                reason,
                {"request_id": request_id},
            )
            return request_id

        return self.get_promotion_request(self._write(op))

    def decide_promotion_request(
        self,
        request_id: str,
        *,
        approve: bool,
        actor: str | None = None,
        reason: str | None = None,
    ) -> PromotionRequest:
        p = r.promotion_requests
        decision = RequestStatus.APPROVED if approve else RequestStatus.REJECTED
        if not approve and not (reason or "").strip():
            raise InvalidParameterError(
                "a rejection needs a reason (--reason '...'): it tells the requester what to fix"
            )

        def op(conn: Connection) -> None:
            row = conn.execute(sa.select(p).where(p.c.request_id == request_id)).first()
            if row is None:
                raise NotFoundError(f"no promotion request with id {request_id!r}")
            if row.status != RequestStatus.PENDING.value:
                raise InvalidStateError(
                    f"promotion request {request_id} of {row.name} {row.version} to "
                    f"{row.alias!r} is already {row.status} by {row.decided_by or 'unknown'}; "
                    "create a new one with `loopml models promote`",
                    request_id=request_id,
                )
            conn.execute(
                p.update()
                .where(p.c.request_id == request_id)
                .values(
                    status=decision.value,
                    decided_by=actor,
                    decided_ms=now_ms(),
                    decision_reason=reason,
                )
            )
            action = "promotion.approve" if approve else "promotion.reject"
            self._event(
                conn,
                actor,
                action,
                row.name,
                row.version,
                row.alias,
                reason,
                {"request_id": request_id, "requested_by": row.requested_by},
            )
            if approve:
                self._move_alias(
                    conn,
                    row.name,
                    row.alias,
                    row.version,
                    actor,
                    reason,
                    {"request_id": request_id},
                )

        self._write(op)
        return self.get_promotion_request(request_id)

    def get_promotion_request(self, request_id: str) -> PromotionRequest:
        p = r.promotion_requests

        def op(conn: Connection) -> PromotionRequest:
            row = conn.execute(sa.select(p).where(p.c.request_id == request_id)).first()
            if row is None:
                raise NotFoundError(f"no promotion request with id {request_id!r}")
            return self._request(row)

        return self._read(op)

    def list_promotion_requests(
        self, name: str, *, status: RequestStatus | None = None
    ) -> list[PromotionRequest]:
        def op(conn: Connection) -> list[PromotionRequest]:
            self._require_model(conn, name)
            p = r.promotion_requests
            q = sa.select(p).where(p.c.name == name).order_by(p.c.requested_ms, p.c.request_id)
            if status is not None:
                q = q.where(p.c.status == RequestStatus(status).value)
            return [self._request(row) for row in conn.execute(q)]

        return self._read(op)

    # -- history ----------------------------------------------------------------------------
    def list_events(
        self, name: str, *, version: int | None = None, limit: int = 1000
    ) -> list[RegistryEvent]:
        e = r.registry_events
        q = sa.select(e).where(e.c.name == name).order_by(e.c.event_id.desc()).limit(limit)
        if version is not None:
            q = q.where(e.c.version == version)

        def op(conn: Connection) -> list[RegistryEvent]:
            rows = conn.execute(q).all()
            return [
                RegistryEvent(
                    event_id=row.event_id,
                    ts_ms=row.ts_ms,
                    actor=row.actor,
                    action=row.action,
                    name=row.name,
                    version=row.version,
                    alias=row.alias,
                    reason=row.reason,
                    detail=loads(row.detail) or {},
                )
                for row in reversed(rows)
            ]

        return self._read(op)
