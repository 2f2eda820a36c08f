"""The continuous-training decision log, read-only: runs of a policy, one run with its events
and decisions, and every decision of a policy ("why did the model change last Tuesday?").

The controller itself runs beside the database (``loopml ct run``); these routes only read its
records, so a team sees the same history in the API, the CLI and the UI.
"""

from __future__ import annotations

import weakref
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel

from loopml.server.deps import READ, server_state
from loopml.server.responses import ok
from loopml.server.state import ServerState
from loopml.store.metadata.ct_sql import SqlCtStore

router = APIRouter(prefix="/ct", tags=["ct"])
State = Annotated[ServerState, Depends(server_state)]
PolicyPath = Annotated[str, Path(min_length=1, max_length=255)]
RunPath = Annotated[str, Path(min_length=1, max_length=32)]
Limit = Annotated[int, Query(ge=1, le=10_000)]

_stores: weakref.WeakKeyDictionary[object, SqlCtStore] = weakref.WeakKeyDictionary()


def _ct(st: ServerState) -> SqlCtStore:
    found = _stores.get(st.store)
    if found is None:
        found = _stores[st.store] = SqlCtStore(st.store.engine, audit=False)
    return found


class DecisionOut(BaseModel):
    id: int
    policy: str
    run_id: str | None
    ts_ms: int
    step: str
    outcome: str
    reason: str
    numbers: dict[str, Any]


class EventOut(BaseModel):
    id: int
    policy: str
    kind: str
    key: str
    reason: str
    detail: dict[str, Any]
    status: str
    run_id: str | None
    created_ms: int


class RunOut(BaseModel):
    run_id: str
    policy: str
    state: str
    reason: str
    data: dict[str, Any]
    pipeline_run_id: str | None
    candidate: str | None
    champion: str | None
    outcome: str | None
    created_ms: int
    updated_ms: int
    finished_ms: int | None


class RunsOut(BaseModel):
    runs: list[RunOut]


class RunDetailOut(RunOut):
    events: list[EventOut]
    decisions: list[DecisionOut]


class HistoryOut(BaseModel):
    policy: str
    decisions: list[DecisionOut]


@router.get("/runs", name="ct.runs", dependencies=[READ], responses={200: {"model": RunsOut}})
def list_runs(
    st: State,
    policy: Annotated[str | None, Query(min_length=1, max_length=255)] = None,
    limit: Limit = 100,
) -> Response:
    return ok({"runs": [r.to_dict() for r in _ct(st).list_runs(policy, limit=limit)]})


@router.get(
    "/runs/{run_id}", name="ct.run", dependencies=[READ], responses={200: {"model": RunDetailOut}}
)
def get_run(run_id: RunPath, st: State) -> Response:
    store = _ct(st)
    run = store.get_run(run_id)
    events = [e for e in store.list_events(run.policy, limit=10_000) if e.run_id == run_id]
    body = run.to_dict()
    body["events"] = [e.to_dict() for e in events]
    body["decisions"] = [d.to_dict() for d in store.list_decisions(run_id=run_id)]
    return ok(body)


@router.get(
    "/policies/{policy}/history",
    name="ct.history",
    dependencies=[READ],
    responses={200: {"model": HistoryOut}},
)
def history(policy: PolicyPath, st: State, limit: Limit = 1000) -> Response:
    decisions = _ct(st).list_decisions(policy, limit=limit)
    return ok({"policy": policy, "decisions": [d.to_dict() for d in decisions]})
