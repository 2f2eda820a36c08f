"""Dataset versions: list, show, log and resolve versions, record new ones, profiles, run inputs.

The bytes of a version are objects (``/objects``); these routes carry only the records, so a
client adds a version by uploading its objects first and then posting the record, exactly as
the local SDK does.
"""

from __future__ import annotations

import weakref
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import Field

from loopml.server.deps import READ, WRITE, server_state
from loopml.server.responses import ok
from loopml.server.schemas import Body, Id, Name, Text
from loopml.server.state import ServerState
from loopml.store.metadata.data_sql import SqlDatasetStore

router = APIRouter(prefix="/data", tags=["data"])
State = Annotated[ServerState, Depends(server_state)]
Hash = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Count = Annotated[int, Field(ge=0, le=2**62)]
Version = Annotated[int, Field(ge=1, le=2**31 - 1)]
VersionPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
NamePath = Annotated[str, Path(min_length=1, max_length=255)]

_stores: weakref.WeakKeyDictionary[object, SqlDatasetStore] = weakref.WeakKeyDictionary()


def _datasets(st: ServerState) -> SqlDatasetStore:
    found = _stores.get(st.store)
    if found is None:
        found = _stores[st.store] = SqlDatasetStore(st.store.engine)
    return found


class VersionCreate(Body):
    manifest_hash: Hash
    layout: Annotated[str, Field(pattern=r"^(file|folder)$")]
    file_count: Count
    size: Count
    message: Text | None = None
    author: Name | None = None
    git_commit: Annotated[str, Field(max_length=64)] | None = None
    source_path: Text | None = None
    table_format: Annotated[str, Field(pattern=r"^(parquet|csv)$")] | None = None
    num_rows: Count | None = None
    table_schema: list[dict[str, Any]] | None = None
    profile: dict[str, Any] | None = None


class ProfileSet(Body):
    profile: dict[str, Any] | None


class InputCreate(Body):
    run_id: Id
    name: Name
    version: Version
    context: Annotated[str, Field(min_length=1, max_length=64)] = "training"


@router.get("/datasets", name="data.list", dependencies=[READ])
def list_datasets(st: State) -> Response:
    return ok({"datasets": [d.to_dict() for d in _datasets(st).list_datasets()]})


@router.post(
    "/datasets/{name}/versions",
    name="data.create_version",
    dependencies=[WRITE],
    status_code=201,
    responses={
        200: {"description": "The content equals the latest version's: that version"},
        201: {"description": "A new version"},
    },
)
def create_version(name: NamePath, body: VersionCreate, st: State) -> Response:
    version, created = _datasets(st).create_version(name, body.model_dump())
    return ok({"version": version.to_dict(), "created": created}, 201 if created else 200)


@router.get("/datasets/{name}/versions", name="data.log", dependencies=[READ])
def list_versions(name: NamePath, st: State) -> Response:
    return ok({"versions": [v.to_dict() for v in _datasets(st).list_versions(name)]})


@router.get("/datasets/{name}/versions/{version}", name="data.show", dependencies=[READ])
def get_version(
    name: NamePath, version: Annotated[str, Path(pattern=r"^(\d{1,9}|latest)$")], st: State
) -> Response:
    number = None if version == "latest" else int(version)
    return ok(_datasets(st).get_version(name, number).to_dict())


@router.put(
    "/datasets/{name}/versions/{version}/profile",
    name="data.set_profile",
    dependencies=[WRITE],
    status_code=204,
)
def set_profile(name: NamePath, version: VersionPath, body: ProfileSet, st: State) -> Response:
    _datasets(st).set_profile(name, version, body.profile)
    return Response(status_code=204)


@router.get("/datasets/{name}/versions/{version}/runs", name="data.runs", dependencies=[READ])
def runs_of_version(name: NamePath, version: VersionPath, st: State) -> Response:
    rows = _datasets(st).runs_of_version(name, version)
    return ok({"inputs": [r.to_dict() for r in rows]})


@router.get("/resolve", name="data.resolve", dependencies=[READ])
def resolve(
    st: State, uri: Annotated[str, Query(min_length=1, max_length=600, examples=["data:/x@latest"])]
) -> Response:
    from loopml.data.versions import parse_ref

    name, number = parse_ref(uri)
    return ok(_datasets(st).get_version(name, number).to_dict())


@router.post("/inputs", name="data.log_input", dependencies=[WRITE], status_code=201)
def log_input(body: InputCreate, st: State) -> Response:
    record = _datasets(st).log_input(body.run_id, body.name, body.version, body.context)
    return ok(record.to_dict(), 201)


@router.get("/inputs", name="data.inputs", dependencies=[READ])
def inputs_of_run(
    st: State, run_id: Annotated[str, Query(min_length=1, max_length=64)]
) -> Response:
    return ok({"inputs": [r.to_dict() for r in _datasets(st).inputs_of_run(run_id)]})
