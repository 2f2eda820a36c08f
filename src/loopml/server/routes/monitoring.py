"""Monitoring, read and label: a deployment's stored windows, the alert history, and feedback.

Windows are computed beside the database (``loopml monitor``, the CT controller); these routes
read what they stored, so the API, the CLI and the UI show the same history. Labels posted here
join the windows the next time they are computed.
"""

from __future__ import annotations

import weakref
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, Field

from loopml.monitoring.feedback import feedback_rows
from loopml.server.deps import READ, WRITE, server_state
from loopml.server.responses import ok
from loopml.server.schemas import Body
from loopml.server.state import ServerState
from loopml.store.metadata.deployments_sql import SqlDeploymentStore
from loopml.store.metadata.monitoring_sql import SqlMonitoringStore

router = APIRouter(prefix="/monitoring", tags=["monitoring"])
State = Annotated[ServerState, Depends(server_state)]
NamePath = Annotated[str, Path(min_length=1, max_length=255)]
Limit = Annotated[int, Query(ge=1, le=10_000)]
Millis = Annotated[int | None, Query(ge=0, le=2**62)]

_stores: weakref.WeakKeyDictionary[object, SqlMonitoringStore] = weakref.WeakKeyDictionary()


def _monitoring(st: ServerState) -> SqlMonitoringStore:
    found = _stores.get(st.store)
    if found is None:
        found = _stores[st.store] = SqlMonitoringStore(st.store.engine)
    return found


class WindowOut(BaseModel):
    id: int
    deployment: str
    spec: str
    model_version: str
    model_uri: str
    start_ms: int
    end_ms: int
    requests: int
    rows: int
    metrics: dict[str, Any]
    snapshot_hash: str | None
    labels_ms: int | None
    created_ms: int


class WindowsOut(BaseModel):
    deployment: str
    windows: list[WindowOut]


class AlertOut(BaseModel):
    id: int
    deployment: str
    name: str
    severity: str
    message: str
    value: float | None
    threshold: float | None
    window_id: int | None
    rule: str
    created_ms: int


class AlertsOut(BaseModel):
    alerts: list[AlertOut]


class FeedbackIn(Body):
    items: list[dict[str, Any]] = Field(min_length=1, max_length=100_000)


class FeedbackOut(BaseModel):
    deployment: str
    recorded: int


@router.get(
    "/deployments/{name}/windows",
    name="monitoring.windows",
    dependencies=[READ],
    responses={200: {"model": WindowsOut}},
)
def list_windows(
    name: NamePath,
    st: State,
    window: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    since_ms: Millis = None,
    limit: Limit = 100,
) -> Response:
    spec = None
    if window is not None:
        from loopml.monitoring.config import window_spec

        spec = window_spec(window)
    records = _monitoring(st).list_windows(name, spec=spec, since_ms=since_ms, limit=limit)
    return ok({"deployment": name, "windows": [r.to_dict() for r in records]})


@router.get(
    "/windows/{window_id}",
    name="monitoring.window",
    dependencies=[READ],
    responses={200: {"model": WindowOut}},
)
def get_window(window_id: Annotated[int, Path(ge=1, le=2**62)], st: State) -> Response:
    return ok(_monitoring(st).get_window(window_id).to_dict())


@router.get(
    "/alerts", name="monitoring.alerts", dependencies=[READ], responses={200: {"model": AlertsOut}}
)
def list_alerts(
    st: State,
    deployment: Annotated[str | None, Query(min_length=1, max_length=2048)] = None,
    name: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    since_ms: Millis = None,
    limit: Limit = 100,
) -> Response:
    alerts = _monitoring(st).list_alerts(deployment, since_ms=since_ms, name=name, limit=limit)
    return ok({"alerts": [a.to_dict() for a in alerts]})


@router.post(
    "/deployments/{name}/feedback",
    name="monitoring.feedback",
    dependencies=[WRITE],
    responses={200: {"model": FeedbackOut}},
)
def post_feedback(name: NamePath, body: FeedbackIn, st: State) -> Response:
    SqlDeploymentStore(st.store.engine, audit=False).get_deployment(name)  # 404 for a typo
    rows = feedback_rows(body.items)
    written = _monitoring(st).add_feedback(name, rows) if rows else 0
    return ok({"deployment": name, "recorded": written})
