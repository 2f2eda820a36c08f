"""Run search with the filter language of the SDK (parsed by the store, never spliced)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from loopml.server.deps import READ, server_state
from loopml.server.responses import ok
from loopml.server.schemas import RunsOut, SearchIn
from loopml.server.state import ServerState
from loopml.store.metadata.wire import run_out

router = APIRouter(tags=["search"])
State = Annotated[ServerState, Depends(server_state)]


@router.post(
    "/runs/search", name="runs.search", dependencies=[READ], responses={200: {"model": RunsOut}}
)
def search_runs(body: SearchIn, st: State) -> Response:
    runs = st.store.search_runs(
        body.experiment_ids,
        body.filter,
        body.order_by,
        body.max_results,
        body.page_token,
        body.include_deleted,
    )
    return ok({"runs": [run_out(r) for r in runs], "next_page_token": runs.next_page_token})
