"""The stores monitoring works on, beside the process's metadata store.

Monitoring reads payload logs and writes windows next to the database: with a SQL metadata
store it shares its engine. Against a remote ``loopml server`` the deployment records come over
REST, but windows are computed where the database is (the server's routes do that).
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING

from loopml.errors import InvalidStateError

if TYPE_CHECKING:
    from loopml.store.metadata.deployments_base import DeploymentStore
    from loopml.store.metadata.monitoring_base import MonitoringStore
    from loopml.store.objects import ObjectStore
    from loopml.tracking.context import Context

_lock = threading.Lock()
_by_metadata: weakref.WeakKeyDictionary[object, MonitoringStore] = weakref.WeakKeyDictionary()


def context() -> Context:
    from loopml.tracking.context import get_context

    return get_context()


def monitoring_store(ctx: Context | None = None) -> MonitoringStore:
    from loopml.store.metadata.sql import SqlMetadataStore

    meta = (ctx or context()).metadata
    if not isinstance(meta, SqlMetadataStore):
        raise InvalidStateError(
            "monitoring runs beside the metadata database; this process talks to a server "
            f"({type(meta).__name__}): run `loopml monitor` where the database is, or use the "
            "server's /api/2.0/loopml/monitoring routes"
        )
    with _lock:
        found = _by_metadata.get(meta)
        if found is None:
            from loopml.store.metadata.monitoring_sql import SqlMonitoringStore

            found = _by_metadata[meta] = SqlMonitoringStore(meta.engine)
        return found


def deployment_store(ctx: Context | None = None) -> DeploymentStore:
    from loopml.store.metadata.rest import RestMetadataStore
    from loopml.store.metadata.sql import SqlMetadataStore

    meta = (ctx or context()).metadata
    if isinstance(meta, SqlMetadataStore):
        from loopml.store.metadata.deployments_sql import SqlDeploymentStore

        return SqlDeploymentStore(meta.engine, audit=False)
    if isinstance(meta, RestMetadataStore):
        from loopml.store.metadata.deployments_rest import RestDeploymentStore

        return RestDeploymentStore(meta.http)
    raise InvalidStateError(f"the metadata store {type(meta).__name__} keeps no deployments")


def object_store(ctx: Context | None = None) -> ObjectStore:
    return (ctx or context()).objects


def project_config(ctx: Context | None = None) -> dict[str, object]:
    """The ``[monitor]`` table of loopml.toml (empty when absent)."""
    table = (ctx or context()).settings.project.get("monitor", {})
    return dict(table) if isinstance(table, dict) else {}
