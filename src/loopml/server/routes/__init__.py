"""One router per capability; ``ROUTERS`` is what the app mounts under ``/api/v1``.

Later issues add their module here (registry, data, ...) with the same pattern: parse with a
pydantic body, call the store, return a plain dict through ``ok``. Declare the permission
(``dependencies=[READ]`` ...), the success status (``status_code=201`` or ``204``) and its body
(``responses={201: {"model": ...}}``): anything undocumented is checked against the error
envelope by ``tests/integration/test_server_schema.py``.
"""

from __future__ import annotations

from fastapi import APIRouter

from loopml.server.routes import (
    artifacts,
    audit,
    ct,
    data,
    deployments,
    experiments,
    metrics,
    monitoring,
    objects,
    pipelines,
    registry,
    runs,
    search,
    users,
)

ROUTERS: list[APIRouter] = [
    experiments.router,
    runs.router,
    metrics.router,
    search.router,
    artifacts.router,
    objects.router,
    users.router,
    audit.router,
    registry.router,
    data.router,
    deployments.router,
    pipelines.router,
    ct.router,
    monitoring.router,
]
