"""The model registry on SQL (SQLite or PostgreSQL), sharing the tracking store's engine.

Models and versions live here; aliases, policies, promotions and history in
``registry_sql_promotions``; transactions and loaders in ``registry_sql_core``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loopml.errors import (
    AlreadyExistsError,
    InvalidParameterError,
    InvalidStateError,
    NotFoundError,
)
from loopml.store.metadata import schema_registry as r
from loopml.store.metadata.registry_base import NewVersion, RegistryStore
from loopml.store.metadata.registry_entities import (
    ModelVersion,
    RegisteredModel,
    VersionStatus,
    check_model_name,
)
from loopml.store.metadata.registry_search import model_filter_clause, parse_model_filter
from loopml.store.metadata.registry_sql_core import READY, dumps, no_model, no_version, now_ms
from loopml.store.metadata.registry_sql_promotions import SqlPromotions
from loopml.store.metadata.validation import check_key

__all__ = ["SqlRegistryStore"]


class SqlRegistryStore(SqlPromotions, RegistryStore):
    """The registry tables of the database behind ``engine`` (already migrated by the
    :class:`~loopml.store.metadata.sql.SqlMetadataStore` that owns the engine)."""

    # -- registered models ------------------------------------------------------------------
    def _models(self, conn: Connection, rows: Sequence[Any]) -> list[RegisteredModel]:
        names = [row.name for row in rows]
        tags: dict[str, dict[str, str]] = {n: {} for n in names}
        aliases: dict[str, dict[str, int]] = {n: {} for n in names}
        latest: dict[str, int] = {}
        for start in range(0, len(names), 500):
            chunk = names[start : start + 500]
            t, a, v = r.registered_model_tags, r.model_aliases, r.model_versions
            for n, k, val in conn.execute(
                sa.select(t.c.name, t.c.key, t.c.value).where(t.c.name.in_(chunk))
            ):
                tags[n][k] = val
            for n, al, ver in conn.execute(
                sa.select(a.c.name, a.c.alias, a.c.version).where(a.c.name.in_(chunk))
            ):
                aliases[n][al] = ver
            for n, ver in conn.execute(
                sa.select(v.c.name, sa.func.max(v.c.version))
                .where(v.c.name.in_(chunk), v.c.status != VersionStatus.DELETED.value)
                .group_by(v.c.name)
            ):
                latest[n] = ver
        return [
            RegisteredModel(
                name=row.name,
                created_ms=row.created_ms,
                updated_ms=row.updated_ms,
                description=row.description,
                owner=row.owner,
                tags=tags[row.name],
                aliases=dict(sorted(aliases[row.name].items())),
                latest_version=latest.get(row.name),
            )
            for row in rows
        ]

    def _insert_model(
        self,
        conn: Connection,
        name: str,
        description: str | None,
        tags: Mapping[str, str] | None,
        actor: str | None,
    ) -> bool:
        """Create the model unless it exists (a concurrent creator may have won); True if new."""
        ts = now_ms()
        stmt = (
            self._upsert()(r.registered_models)
            .values(
                name=name,
                description=description,
                owner=actor,
                last_version=0,
                created_ms=ts,
                updated_ms=ts,
            )
            .on_conflict_do_nothing(index_elements=["name"])
            .returning(r.registered_models.c.name)
        )
        if conn.execute(stmt).first() is None:
            return False
        if tags:
            conn.execute(
                r.registered_model_tags.insert(),
                [
                    {"name": name, "key": check_key(k, "tag key"), "value": str(v)}
                    for k, v in tags.items()
                ],
            )
        self._event(conn, actor, "model.create", name)
        return True

    def create_registered_model(
        self,
        name: str,
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        actor: str | None = None,
    ) -> RegisteredModel:
        check_model_name(name)

        def op(conn: Connection) -> None:
            if not self._insert_model(conn, name, description, tags, actor):
                raise AlreadyExistsError(
                    f"a model named {name!r} already exists; register a new version of it "
                    "instead, or choose another name",
                    name=name,
                )

        self._write(op)
        return self.get_registered_model(name)

    def get_registered_model(self, name: str) -> RegisteredModel:
        def op(conn: Connection) -> RegisteredModel:
            m = r.registered_models
            row = conn.execute(sa.select(m).where(m.c.name == name)).first()
            if row is None:
                raise no_model(name)
            return self._models(conn, [row])[0]

        return self._read(op)

    def search_registered_models(
        self, filter: str | None = None, max_results: int = 1000
    ) -> list[RegisteredModel]:
        if not isinstance(max_results, int) or not 0 < max_results <= 50_000:
            raise InvalidParameterError(
                f"max_results must be between 1 and 50000, got {max_results!r}"
            )
        expr = parse_model_filter(filter)
        m = r.registered_models
        query = sa.select(m).order_by(m.c.name).limit(max_results)
        if expr is not None:
            query = query.where(model_filter_clause(expr))
        return self._read(lambda conn: self._models(conn, conn.execute(query).all()))

    def update_registered_model(
        self, name: str, *, description: str | None = None, actor: str | None = None
    ) -> RegisteredModel:
        def op(conn: Connection) -> None:
            m = r.registered_models
            res = conn.execute(
                m.update()
                .where(m.c.name == name)
                .values(description=description, updated_ms=now_ms())
            )
            if res.rowcount == 0:
                raise no_model(name)
            self._event(conn, actor, "model.update", name, detail={"description": description})

        self._write(op)
        return self.get_registered_model(name)

    def set_registered_model_tags(
        self, name: str, tags: Mapping[str, str], *, actor: str | None = None
    ) -> None:
        rows = [
            {"name": name, "key": check_key(k, "tag key"), "value": str(v)} for k, v in tags.items()
        ]
        if not rows:
            return

        def op(conn: Connection) -> None:
            self._require_model(conn, name)
            stmt = self._upsert()(r.registered_model_tags).values(rows)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["name", "key"], set_={"value": stmt.excluded.value}
                )
            )
            self._event(conn, actor, "model.tags", name, detail={"tags": dict(tags)})

        self._write(op)

    def delete_registered_model(self, name: str, *, actor: str | None = None) -> None:
        def op(conn: Connection) -> None:
            self._require_model(conn, name)
            for table in (r.model_version_tags, r.model_version_datasets):
                conn.execute(table.delete().where(table.c.name == name))
            for table in (
                r.model_aliases,
                r.alias_policies,
                r.promotion_requests,
                r.model_versions,
                r.registered_model_tags,
            ):
                conn.execute(table.delete().where(table.c.name == name))
            conn.execute(r.registered_models.delete().where(r.registered_models.c.name == name))
            self._event(conn, actor, "model.delete", name)

        self._write(op)

    # -- versions ---------------------------------------------------------------------------
    def create_model_version(
        self, name: str, new: NewVersion, *, actor: str | None = None
    ) -> ModelVersion:
        check_model_name(name)
        tags = {check_key(k, "tag key"): str(v) for k, v in new.tags.items()}
        ts = now_ms()

        def op(conn: Connection) -> int:
            self._insert_model(conn, name, None, None, actor)
            m = r.registered_models
            conn.execute(
                m.update()
                .where(m.c.name == name)
                .values(last_version=m.c.last_version + 1, updated_ms=ts)
            )
            version = int(
                conn.execute(sa.select(m.c.last_version).where(m.c.name == name)).scalar_one()
            )
            conn.execute(
                r.model_versions.insert().values(
                    name=name,
                    version=version,
                    status=READY,
                    source_uri=new.source_uri,
                    run_id=new.run_id,
                    package_hash=new.package_hash,
                    package_kind="dir",
                    flavor=new.flavor,
                    signature=dumps(new.signature),
                    metrics=dumps(new.metrics),
                    params=dumps(new.params),
                    description=new.description,
                    user=actor,
                    created_ms=ts,
                    updated_ms=ts,
                )
            )
            if tags:
                conn.execute(
                    r.model_version_tags.insert(),
                    [
                        {"name": name, "version": version, "key": k, "value": v}
                        for k, v in tags.items()
                    ],
                )
            links = {d.uri: d for d in new.datasets}
            if links:
                conn.execute(
                    r.model_version_datasets.insert(),
                    [
                        {
                            "name": name,
                            "version": version,
                            "uri": d.uri,
                            "digest": d.digest,
                            "context": d.context,
                        }
                        for d in links.values()
                    ],
                )
            self._event(
                conn,
                actor,
                "version.create",
                name,
                version,
                detail={"source_uri": new.source_uri, "package_hash": new.package_hash},
            )
            return version

        version = self._write(op)
        return ModelVersion(
            name=name,
            version=version,
            status=VersionStatus.READY,
            source_uri=new.source_uri,
            run_id=new.run_id,
            package_hash=new.package_hash,
            flavor=new.flavor,
            created_ms=ts,
            updated_ms=ts,
            user=actor,
            description=new.description,
            signature=new.signature,
            metrics=dict(new.metrics),
            params=dict(new.params),
            datasets=list({d.uri: d for d in new.datasets}.values()),
            tags=tags,
        )

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        def op(conn: Connection) -> ModelVersion:
            v = r.model_versions
            row = conn.execute(
                sa.select(v).where(v.c.name == name, v.c.version == int(version))
            ).first()
            if row is None:
                self._require_model(conn, name)
                raise no_version(name, version)
            return self._versions(conn, [row])[0]

        return self._read(op)

    def list_model_versions(
        self, name: str, *, include_deleted: bool = False
    ) -> list[ModelVersion]:
        def op(conn: Connection) -> list[ModelVersion]:
            self._require_model(conn, name)
            v = r.model_versions
            q = sa.select(v).where(v.c.name == name).order_by(v.c.version.desc())
            if not include_deleted:
                q = q.where(v.c.status != VersionStatus.DELETED.value)
            return self._versions(conn, conn.execute(q).all())

        return self._read(op)

    def find_versions_by_package(self, package_hash: str) -> list[ModelVersion]:
        v = r.model_versions
        q = sa.select(v).where(v.c.package_hash == package_hash).order_by(v.c.name, v.c.version)
        return self._read(lambda conn: self._versions(conn, conn.execute(q).all()))

    def update_model_version(
        self,
        name: str,
        version: int,
        *,
        status: VersionStatus | None = None,
        description: str | None = None,
        actor: str | None = None,
    ) -> ModelVersion:
        values: dict[str, Any] = {"updated_ms": now_ms()}
        if description is not None:
            values["description"] = description
        if status is not None:
            values["status"] = VersionStatus(status).value

        def op(conn: Connection) -> None:
            current = self._version_status(conn, name, version)
            if status is not None and status is not VersionStatus.READY:
                a = r.model_aliases
                held = [
                    al
                    for (al,) in conn.execute(
                        sa.select(a.c.alias).where(a.c.name == name, a.c.version == version)
                    )
                ]
                if held:
                    raise InvalidStateError(
                        f"version {version} of {name!r} holds alias(es) {', '.join(sorted(held))}: "
                        f"move them to another version (`loopml models alias {name} <alias> "
                        "<version>`) or delete them first",
                        name=name,
                        version=version,
                    )
            v = r.model_versions
            conn.execute(
                v.update().where(v.c.name == name, v.c.version == version).values(**values)
            )
            if status is not None and status.value != current:
                self._event(
                    conn, actor, "version.status", name, version, detail={"status": status.value}
                )
            if description is not None:
                self._event(conn, actor, "version.update", name, version)

        self._write(op)
        return self.get_model_version(name, version)

    def set_model_version_tags(
        self, name: str, version: int, tags: Mapping[str, str], *, actor: str | None = None
    ) -> None:
        rows = [
            {"name": name, "version": version, "key": check_key(k, "tag key"), "value": str(v)}
            for k, v in tags.items()
        ]
        if not rows:
            return

        def op(conn: Connection) -> None:
            self._version_status(conn, name, version)
            stmt = self._upsert()(r.model_version_tags).values(rows)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["name", "version", "key"], set_={"value": stmt.excluded.value}
                )
            )
            self._event(conn, actor, "version.tags", name, version, detail={"tags": dict(tags)})

        self._write(op)

    def delete_model_version_tag(
        self, name: str, version: int, key: str, *, actor: str | None = None
    ) -> None:
        def op(conn: Connection) -> None:
            t = r.model_version_tags
            res = conn.execute(
                t.delete().where(t.c.name == name, t.c.version == version, t.c.key == key)
            )
            if res.rowcount == 0:
                self._version_status(conn, name, version)
                raise NotFoundError(f"version {version} of {name!r} has no tag {key!r}")
            self._event(conn, actor, "version.tag_delete", name, version, detail={"key": key})

        self._write(op)
