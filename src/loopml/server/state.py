"""The stores one server process holds, opened once at start and shared by every request."""

from __future__ import annotations

from dataclasses import dataclass

from loopml.server.config import ServerConfig
from loopml.store.metadata.audit_sql import SqlAuditLog
from loopml.store.metadata.auth_sql import SqlAuthStore
from loopml.store.metadata.sql import SqlMetadataStore
from loopml.store.objects import ObjectStore


@dataclass
class ServerState:
    config: ServerConfig
    store: SqlMetadataStore
    objects: ObjectStore
    auth: SqlAuthStore
    audit: SqlAuditLog

    @classmethod
    def open(cls, config: ServerConfig) -> ServerState:
        store = SqlMetadataStore(config.db_url)
        return cls(
            config=config,
            store=store,
            objects=ObjectStore(config.objects_url),
            auth=SqlAuthStore(store.engine),
            audit=SqlAuditLog(store.engine),
        )

    def close(self) -> None:
        self.store.close()
