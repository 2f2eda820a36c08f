"""Runs: create, read, update, soft delete, restore; params and tags."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from loopml.server.deps import READ, WRITE, Principal, server_state
from loopml.server.responses import ok
from loopml.server.schemas import ParamsIn, RunCreate, RunOut, RunUpdate, TagsIn
from loopml.server.state import ServerState
from loopml.store.metadata.wire import run_out

router = APIRouter(prefix="/runs", tags=["runs"])
State = Annotated[ServerState, Depends(server_state)]


def _caller(request: Request) -> Principal:
    principal: Principal = request.state.principal
    return principal


@router.post(
    "",
    name="runs.create",
    dependencies=[WRITE],
    status_code=201,
    responses={201: {"model": RunOut}},
)
def create_run(body: RunCreate, st: State, request: Request) -> Response:
    # With auth on, a run belongs to whoever holds the token, whatever the client claims.
    user = _caller(request).name if st.config.auth else body.user
    run = st.store.create_run(
        body.experiment_id,
        run_name=body.run_name,
        start_ms=body.start_ms,
        parent_run_id=body.parent_run_id,
        tags=body.tags,
        user=user,
    )
    return ok(run_out(run), 201)


@router.get("/{run_id}", name="runs.get", dependencies=[READ], responses={200: {"model": RunOut}})
def get_run(run_id: str, st: State) -> Response:
    return ok(run_out(st.store.get_run(run_id)))


@router.patch(
    "/{run_id}", name="runs.update", dependencies=[WRITE], responses={200: {"model": RunOut}}
)
def update_run(run_id: str, body: RunUpdate, st: State) -> Response:
    run = st.store.update_run(
        run_id,
        status=body.status,
        end_ms=body.end_ms,
        status_message=body.status_message,
        run_name=body.run_name,
    )
    return ok(run_out(run))


@router.delete("/{run_id}", name="runs.delete", dependencies=[WRITE], status_code=204)
def delete_run(run_id: str, st: State) -> Response:
    st.store.delete_run(run_id)
    return Response(status_code=204)


@router.post("/{run_id}/restore", name="runs.restore", dependencies=[WRITE], status_code=204)
def restore_run(run_id: str, st: State) -> Response:
    st.store.restore_run(run_id)
    return Response(status_code=204)


@router.post("/{run_id}/params", name="runs.log_params", dependencies=[WRITE], status_code=204)
def log_params(run_id: str, body: ParamsIn, st: State) -> Response:
    st.store.log_params(run_id, body.params)
    return Response(status_code=204)


@router.post("/{run_id}/tags", name="runs.set_tags", dependencies=[WRITE], status_code=204)
def set_tags(run_id: str, body: TagsIn, st: State) -> Response:
    st.store.set_tags(run_id, body.tags)
    return Response(status_code=204)


@router.delete("/{run_id}/tags", name="runs.delete_tag", dependencies=[WRITE], status_code=204)
def delete_tag(
    run_id: str, st: State, key: Annotated[str, Query(min_length=1, max_length=250)]
) -> Response:
    st.store.delete_tag(run_id, key)
    return Response(status_code=204)
