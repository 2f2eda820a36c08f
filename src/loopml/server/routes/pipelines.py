"""Pipeline runs and lineage: list runs, one run with its steps, a model version's lineage.

Read-only: pipelines run where their code is (a laptop, a worker, Ray) and record into the
shared database; the server shows what they recorded. Bodies are the SDK's own ``to_dict()``
forms (``PipelineRun``, ``LineageGraph``), so a script reads the same JSON from
``loopml pipeline show --json`` and from here.
"""

from __future__ import annotations

import weakref
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from loopml.registry.resolve import resolve_version
from loopml.server.deps import READ, server_state
from loopml.server.responses import ok
from loopml.server.state import ServerState
from loopml.store.metadata.pipeline_sql import SqlPipelineStore
from loopml.store.metadata.registry_sql import SqlRegistryStore

router = APIRouter(prefix="/pipelines", tags=["pipelines"])
State = Annotated[ServerState, Depends(server_state)]
RunId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:+-]+$")]

_stores: weakref.WeakKeyDictionary[object, SqlPipelineStore] = weakref.WeakKeyDictionary()
_registries: weakref.WeakKeyDictionary[object, SqlRegistryStore] = weakref.WeakKeyDictionary()


def _pipelines(st: ServerState) -> SqlPipelineStore:
    found = _stores.get(st.store)
    if found is None:
        found = _stores[st.store] = SqlPipelineStore(st.store.engine)
    return found


def _registry(st: ServerState) -> SqlRegistryStore:
    found = _registries.get(st.store)
    if found is None:
        found = _registries[st.store] = SqlRegistryStore(st.store.engine, audit=False)
    return found


@router.get("/runs", name="pipelines.list_runs", dependencies=[READ])
def list_runs(
    st: State,
    pipeline: Annotated[str | None, Query(min_length=1, max_length=250)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    steps: Annotated[bool, Query(description="Include each run's steps.")] = False,
) -> Response:
    """Newest first; ``steps=true`` adds each run's steps (one more read per run)."""
    from loopml.pipeline.records import PipelineRun

    store = _pipelines(st)
    runs = []
    for record in store.list_runs(pipeline, limit):
        step_records = store.get_run(record.run_id)[1] if steps else []
        runs.append(PipelineRun.from_records(record, step_records).to_dict())
    return ok({"runs": runs})


@router.get("/runs/{run_id}", name="pipelines.get_run", dependencies=[READ])
def get_run(run_id: RunId, st: State) -> Response:
    """One run with its steps (status, duration, cache hit, outputs, error) and its DAG."""
    from loopml.pipeline.records import PipelineRun

    record, steps = _pipelines(st).get_run(run_id)
    body = PipelineRun.from_records(record, steps).to_dict()
    body["graph"] = record.graph
    body["edges"] = [{"src": s, "dst": d} for s, d in _pipelines(st).edges(run_id)]
    return ok(body)


@router.get("/lineage", name="pipelines.lineage", dependencies=[READ])
def lineage(
    st: State,
    uri: Annotated[str, Query(min_length=1, max_length=600, examples=["models:/churn/4"])],
) -> Response:
    """The steps, artifacts and dataset versions that led to a registered model version."""
    from loopml.pipeline.lineage import lineage_of

    version = resolve_version(_registry(st), uri)
    return ok(lineage_of(version, _pipelines(st)).to_dict())
