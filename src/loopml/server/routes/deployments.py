"""Deployments: list and show configurations with their history and live counters; create one
or add a configuration version (a change, a promotion or a rollback is a new version).

Configurations are checked by ``loopml.serving``'s own rules before they are stored; the audit
middleware records every write, so the store does not audit again.
"""

from __future__ import annotations

import weakref
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import Field

from loopml.server.deps import READ, WRITE, Principal, server_state
from loopml.server.responses import ok
from loopml.server.schemas import Body, Name, Text
from loopml.server.state import ServerState
from loopml.serving.config import DeploymentConfig
from loopml.store.metadata.deployments_base import PayloadFile, RouteCounter
from loopml.store.metadata.deployments_sql import SqlDeploymentStore

router = APIRouter(prefix="/deployments", tags=["deployments"])
State = Annotated[ServerState, Depends(server_state)]
NamePath = Annotated[str, Path(min_length=1, max_length=255)]
VersionPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
Count = Annotated[int, Field(ge=0, le=2**62)]

_stores: weakref.WeakKeyDictionary[object, SqlDeploymentStore] = weakref.WeakKeyDictionary()


def _deployments(st: ServerState) -> SqlDeploymentStore:
    found = _stores.get(st.store)
    if found is None:
        found = _stores[st.store] = SqlDeploymentStore(st.store.engine, audit=False)
    return found


def _caller(request: Request) -> str:
    principal: Principal = request.state.principal
    return principal.name


class DeploymentCreate(Body):
    name: Name
    config: dict[str, Any]


class CounterIn(Body):
    route: Name
    model_uri: Annotated[str, Field(min_length=1, max_length=1100)]
    requests: Count
    errors: Count
    latency_ms_sum: Annotated[float, Field(ge=0, le=1e18)]
    dropped: Count = 0


class CountersIn(Body):
    counters: list[CounterIn] = Field(max_length=10_000)


Millis = Annotated[int, Field(ge=0, le=2**62)]


class PayloadFileIn(Body):
    object_hash: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    rows: Count
    min_ts_ms: Millis
    max_ts_ms: Millis
    created_ms: Millis


class ConfigIn(Body):
    config: dict[str, Any]
    message: Text | None = None


@router.get("", name="deployments.list", dependencies=[READ])
def list_deployments(st: State) -> Response:
    return ok({"deployments": [d.to_dict() for d in _deployments(st).list_deployments()]})


@router.post("", name="deployments.create", dependencies=[WRITE], status_code=201)
def create_deployment(body: DeploymentCreate, st: State, request: Request) -> Response:
    config = DeploymentConfig.from_dict(body.config).to_dict()
    record = _deployments(st).create_deployment(body.name, config, _caller(request))
    return ok(record.to_dict(), status_code=201)


@router.get("/{name}", name="deployments.get", dependencies=[READ])
def get_deployment(name: NamePath, st: State) -> Response:
    store = _deployments(st)
    body = store.get_deployment(name).to_dict()
    body["counters"] = [c.to_dict() for c in store.get_counters(name)]
    return ok(body)


@router.get("/{name}/versions", name="deployments.versions", dependencies=[READ])
def list_versions(name: NamePath, st: State) -> Response:
    return ok({"versions": [v.to_dict() for v in _deployments(st).list_versions(name)]})


@router.post(
    "/{name}/versions", name="deployments.add_version", dependencies=[WRITE], status_code=201
)
def add_version(name: NamePath, body: ConfigIn, st: State, request: Request) -> Response:
    config = DeploymentConfig.from_dict(body.config).to_dict()
    record = _deployments(st).add_version(name, config, _caller(request), body.message or "update")
    return ok(record.to_dict(), status_code=201)


@router.get("/{name}/versions/{version}", name="deployments.get_version", dependencies=[READ])
def get_version(name: NamePath, version: VersionPath, st: State) -> Response:
    return ok(_deployments(st).get_deployment(name, version).to_dict())


@router.delete("/{name}", name="deployments.delete", dependencies=[WRITE], status_code=204)
def delete_deployment(name: NamePath, st: State) -> Response:
    _deployments(st).delete_deployment(name)
    return Response(status_code=204)


@router.post("/{name}/counters", name="deployments.add_counters", dependencies=[WRITE])
def add_counters(name: NamePath, body: CountersIn, st: State) -> Response:
    counters = [
        RouteCounter(
            c.route, c.model_uri, c.requests, c.errors, c.latency_ms_sum, dropped=c.dropped
        )
        for c in body.counters
    ]
    _deployments(st).add_counters(name, counters)
    return ok({"counters": len(counters)})


@router.post("/{name}/payload-files", name="deployments.add_payload_file", dependencies=[WRITE])
def add_payload_file(name: NamePath, body: PayloadFileIn, st: State) -> Response:
    f = PayloadFile(body.object_hash, body.rows, body.min_ts_ms, body.max_ts_ms, body.created_ms)
    _deployments(st).add_payload_file(name, f)
    return ok(f.to_dict())


@router.get("/{name}/payload-files", name="deployments.payload_files", dependencies=[READ])
def list_payload_files(
    name: NamePath,
    st: State,
    since_ms: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    until_ms: Annotated[int | None, Query(ge=0, le=2**62)] = None,
) -> Response:
    files = _deployments(st).list_payload_files(name, since_ms, until_ms)
    return ok({"files": [f.to_dict() for f in files]})
