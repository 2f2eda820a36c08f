"""Experiments: create, read, rename, soft delete and restore."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from loopml.server.deps import READ, WRITE, server_state
from loopml.server.responses import ok
from loopml.server.schemas import ExperimentCreate, ExperimentOut, ExperimentRename, ExperimentsOut
from loopml.server.state import ServerState
from loopml.store.metadata.wire import experiment_out

router = APIRouter(prefix="/experiments", tags=["experiments"])
State = Annotated[ServerState, Depends(server_state)]


@router.post(
    "",
    name="experiments.create",
    dependencies=[WRITE],
    status_code=201,
    responses={201: {"model": ExperimentOut}},
)
def create_experiment(body: ExperimentCreate, st: State) -> Response:
    return ok(experiment_out(st.store.create_experiment(body.name, body.tags)), 201)


@router.get(
    "", name="experiments.list", dependencies=[READ], responses={200: {"model": ExperimentsOut}}
)
def list_experiments(st: State, include_deleted: bool = False) -> Response:
    exps = st.store.list_experiments(include_deleted=include_deleted)
    return ok({"experiments": [experiment_out(e) for e in exps]})


@router.get(
    "/by-name",
    name="experiments.get_by_name",
    dependencies=[READ],
    responses={200: {"model": ExperimentOut}},
)
def get_experiment_by_name(
    st: State, name: Annotated[str, Query(min_length=1, max_length=250)]
) -> Response:
    return ok(experiment_out(st.store.get_experiment_by_name(name)))


@router.get(
    "/{experiment_id}",
    name="experiments.get",
    dependencies=[READ],
    responses={200: {"model": ExperimentOut}},
)
def get_experiment(experiment_id: str, st: State) -> Response:
    return ok(experiment_out(st.store.get_experiment(experiment_id)))


@router.patch(
    "/{experiment_id}",
    name="experiments.rename",
    dependencies=[WRITE],
    responses={200: {"model": ExperimentOut}},
)
def rename_experiment(experiment_id: str, body: ExperimentRename, st: State) -> Response:
    return ok(experiment_out(st.store.rename_experiment(experiment_id, body.name)))


@router.delete("/{experiment_id}", name="experiments.delete", dependencies=[WRITE], status_code=204)
def delete_experiment(experiment_id: str, st: State) -> Response:
    st.store.delete_experiment(experiment_id)
    return Response(status_code=204)


@router.post(
    "/{experiment_id}/restore", name="experiments.restore", dependencies=[WRITE], status_code=204
)
def restore_experiment(experiment_id: str, st: State) -> Response:
    st.store.restore_experiment(experiment_id)
    return Response(status_code=204)
