"""Content-addressed objects through the server: streamed upload, existence check, download.

Clients without the object store's credentials send artifact bytes here; the server hashes
them (the client may not choose the name of what it stores) and returns the hash.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import StreamingResponse

from loopml.server.deps import READ, WRITE, server_state
from loopml.server.responses import ok
from loopml.server.schemas import ObjectOut
from loopml.server.state import ServerState
from loopml.server.streaming import iter_object, store_stream

router = APIRouter(prefix="/objects", tags=["objects"])
State = Annotated[ServerState, Depends(server_state)]
Hash = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]


@router.post(
    "",
    name="objects.put",
    dependencies=[WRITE],
    status_code=201,
    responses={201: {"model": ObjectOut}},
    openapi_extra={
        "requestBody": {
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            }
        }
    },
)
async def put_object(request: Request, st: State) -> Response:
    info = await store_stream(st.objects, request.stream())
    return ok({"hash": info.hash, "size": info.size}, 201)


@router.head("/{object_hash}", name="objects.exists", dependencies=[READ])
def object_exists(object_hash: Hash, st: State) -> Response:
    size = st.objects.size(object_hash)
    return Response(status_code=200, headers={"x-object-size": str(size)})


@router.get(
    "/{object_hash}",
    name="objects.get",
    dependencies=[READ],
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def get_object(object_hash: Hash, st: State) -> StreamingResponse:
    size = st.objects.size(object_hash)
    return StreamingResponse(
        iter_object(st.objects.open(object_hash)),
        media_type="application/octet-stream",
        headers={"content-length": str(size), "x-object-hash": object_hash},
    )
