"""The audit trail, newest first, filtered by time, actor, action and target."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from loopml.server.deps import READ, server_state
from loopml.server.responses import ok
from loopml.server.schemas import AuditListOut
from loopml.server.state import ServerState

router = APIRouter(tags=["audit"])
State = Annotated[ServerState, Depends(server_state)]


@router.get(
    "/audit", name="audit.list", dependencies=[READ], responses={200: {"model": AuditListOut}}
)
def list_audit(
    st: State,
    since_ms: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    actor: Annotated[str | None, Query(max_length=128)] = None,
    action: Annotated[str | None, Query(max_length=128)] = None,
    target: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
) -> Response:
    records = st.audit.query(
        since_ms=since_ms, actor=actor, action=action, target=target, limit=limit
    )
    return ok({"records": [r.to_dict() for r in records]})
