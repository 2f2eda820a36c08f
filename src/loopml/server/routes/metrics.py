"""Metric batches (exactly once, by idempotency key) and metric history."""

from __future__ import annotations

import math
import re
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response

from loopml.errors import InvalidParameterError
from loopml.server.deps import READ, WRITE, server_state
from loopml.server.responses import ok
from loopml.server.schemas import LoggedOut, MetricBatch, MetricsOut
from loopml.server.state import ServerState
from loopml.store.metadata.idempotency import log_metrics_once
from loopml.store.metadata.wire import metric_out

router = APIRouter(tags=["metrics"])
State = Annotated[ServerState, Depends(server_state)]
_KEY = re.compile(r"^[A-Za-z0-9_\-]{8,64}$")


@router.post(
    "/metrics", name="metrics.log", dependencies=[WRITE], responses={200: {"model": LoggedOut}}
)
def log_metrics(
    body: MetricBatch,
    st: State,
    idempotency_key: Annotated[str | None, Header(max_length=64)] = None,
) -> Response:
    """Store a batch; a retried batch with the same ``Idempotency-Key`` is stored once."""
    if idempotency_key is not None and not _KEY.match(idempotency_key):
        raise InvalidParameterError("Idempotency-Key must be 8-64 letters, digits, '-' or '_'")
    points = [(r, k, math.nan if v is None else v, s, ts) for r, k, v, s, ts in body.points]
    written = log_metrics_once(st.store, idempotency_key or uuid.uuid4().hex, points)
    return ok({"points": len(points), "duplicate": not written})


@router.get(
    "/runs/{run_id}/metrics/history",
    name="metrics.history",
    dependencies=[READ],
    responses={200: {"model": MetricsOut}},
)
def metric_history(
    run_id: str, st: State, key: Annotated[str, Query(min_length=1, max_length=250)]
) -> Response:
    return ok({"metrics": [metric_out(m) for m in st.store.get_metric_history(run_id, key)]})
