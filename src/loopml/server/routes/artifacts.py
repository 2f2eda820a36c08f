"""Artifact records of a run, and whole files by path for clients that only speak HTTP."""

from __future__ import annotations

import time
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from loopml.errors import InvalidParameterError
from loopml.server.deps import ADMIN, READ, WRITE, server_state
from loopml.server.responses import ok
from loopml.server.schemas import (
    ArtifactIn,
    ArtifactOut,
    ArtifactsOut,
    PurgedOut,
    PurgeIn,
    ReferencesOut,
)
from loopml.server.state import ServerState
from loopml.server.streaming import iter_object, store_stream
from loopml.store.metadata.entities import ArtifactRecord
from loopml.store.metadata.wire import artifact_out
from loopml.tracking.artifacts import clean_artifact_path, find

router = APIRouter(tags=["artifacts"])
State = Annotated[ServerState, Depends(server_state)]


@router.post(
    "/runs/{run_id}/artifacts", name="artifacts.record", dependencies=[WRITE], status_code=204
)
def record_artifact(run_id: str, body: ArtifactIn, st: State) -> Response:
    path = clean_artifact_path(body.path)
    st.store.record_artifact(run_id, path, body.object_hash, body.size, body.kind)
    return Response(status_code=204)


@router.get(
    "/runs/{run_id}/artifacts",
    name="artifacts.list",
    dependencies=[READ],
    responses={200: {"model": ArtifactsOut}},
)
def list_artifacts(
    run_id: str, st: State, prefix: Annotated[str, Query(max_length=1024)] = ""
) -> Response:
    return ok({"artifacts": [artifact_out(a) for a in st.store.list_artifacts(run_id, prefix)]})


@router.put(
    "/runs/{run_id}/files/{path:path}",
    name="artifacts.upload",
    dependencies=[WRITE],
    responses={200: {"model": ArtifactOut}},
    openapi_extra={
        "requestBody": {
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            }
        }
    },
)
async def upload_file(run_id: str, path: str, request: Request, st: State) -> Response:
    """Store the body as the run's file artifact at ``path`` (streamed, any size)."""
    clean = clean_artifact_path(path)
    await anyio.to_thread.run_sync(st.store.get_run, run_id)  # fail before reading the body
    info = await store_stream(st.objects, request.stream())
    await anyio.to_thread.run_sync(
        st.store.record_artifact, run_id, clean, info.hash, info.size, "file"
    )
    now = time.time_ns() // 1_000_000
    return ok(artifact_out(ArtifactRecord(clean, info.hash, info.size, "file", now)))


@router.get(
    "/runs/{run_id}/files/{path:path}",
    name="artifacts.download",
    dependencies=[READ],
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download_file(run_id: str, path: str, st: State) -> StreamingResponse:
    """A file artifact, or a file inside a logged folder, streamed."""
    clean = clean_artifact_path(path)
    record, inside = find(st.store.list_artifacts(run_id), clean, run_id)
    object_hash = record.object_hash
    if record.kind == "dir":
        manifest = st.objects.read_manifest(object_hash)
        entry = manifest.entries.get(inside)
        if entry is None:
            raise InvalidParameterError(
                f"{clean!r} is a folder: download its files one by one, or use the SDK"
            )
        object_hash = entry.hash
    return StreamingResponse(
        iter_object(st.objects.open(object_hash)),
        media_type="application/octet-stream",
        headers={"content-length": str(st.objects.size(object_hash))},
    )


@router.get(
    "/admin/references",
    name="admin.references",
    dependencies=[ADMIN],
    responses={200: {"model": ReferencesOut}},
)
def referenced_objects(st: State) -> Response:
    live, manifests = st.store.referenced_objects()
    return ok({"live": sorted(live), "manifests": sorted(manifests)})


@router.post(
    "/admin/purge", name="admin.purge", dependencies=[ADMIN], responses={200: {"model": PurgedOut}}
)
def purge_deleted(body: PurgeIn, st: State) -> Response:
    return ok({"runs": st.store.purge_deleted(body.older_than_ms)})
