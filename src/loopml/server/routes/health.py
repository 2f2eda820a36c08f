"""Liveness (``/health``: the process answers) and readiness (``/ready``: its stores answer)."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Response

from loopml._version import __version__
from loopml.server.deps import READ, server_state
from loopml.server.responses import ok
from loopml.server.schemas import InfoOut, StatusOut
from loopml.server.state import ServerState

router = APIRouter(tags=["health"])
State = Annotated[ServerState, Depends(server_state)]


@router.get("/health", name="health", responses={200: {"model": StatusOut}})
async def health() -> Response:
    return ok({"status": "ok", "checks": {}})


def _check_db(st: ServerState) -> str:
    try:
        with st.store.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}"
    return "ok"


def _check_objects(st: ServerState) -> str:
    try:
        st.objects.exists("0" * 64)
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}"
    return "ok"


@router.get(
    "/ready", name="ready", responses={200: {"model": StatusOut}, 503: {"model": StatusOut}}
)
def ready(st: State) -> Response:
    checks = {"database": _check_db(st), "object_store": _check_objects(st)}
    healthy = all(v == "ok" for v in checks.values())
    return ok(
        {"status": "ok" if healthy else "unavailable", "checks": checks}, 200 if healthy else 503
    )


@router.get(
    "/api/v1/server-info",
    name="server.info",
    dependencies=[READ],
    responses={200: {"model": InfoOut}},
)
def server_info(st: State) -> Response:
    """What a client needs to know: auth on, and the object store for direct writes."""
    return ok(
        {
            "version": __version__,
            "auth": st.config.auth,
            "object_store": st.objects.url,
            "max_body_bytes": st.config.max_body_bytes,
        }
    )
