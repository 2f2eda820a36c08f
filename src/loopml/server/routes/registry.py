"""The model registry: models, versions, aliases, approval policies, promotions, lineage.

Routes parse, call the registry's domain functions with the caller as the actor, and serialise.
Policies are enforced here, where the caller is known: a protected alias moves only through a
promotion request, and only a user with the approver role (and, if the policy names approvers,
one of them) decides a request. The audit middleware records each change with its request body;
the registry keeps its own history too (``/events``).
"""

from __future__ import annotations

import weakref
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field

from loopml.registry import approval
from loopml.registry.lineage import build_lineage
from loopml.registry.resolve import resolve_version
from loopml.server.deps import APPROVE, READ, WRITE, Principal, server_state
from loopml.server.responses import ok
from loopml.server.schemas import Body, Key, Name, Text, Value
from loopml.server.state import ServerState
from loopml.store.metadata.auth import Permission, role_allows
from loopml.store.metadata.registry_base import NewVersion
from loopml.store.metadata.registry_entities import AliasPolicy, RequestStatus, VersionStatus
from loopml.store.metadata.registry_sql import SqlRegistryStore

router = APIRouter(prefix="/registry", tags=["registry"])
State = Annotated[ServerState, Depends(server_state)]
Version = Annotated[int, Field(ge=1, le=2**31 - 1)]
Hash = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Reason = Annotated[str, Field(max_length=10_000)] | None

_stores: weakref.WeakKeyDictionary[object, SqlRegistryStore] = weakref.WeakKeyDictionary()


def _registry(st: ServerState) -> SqlRegistryStore:
    """One registry store per server store; the audit middleware audits, so it does not."""
    found = _stores.get(st.store)
    if found is None:
        found = _stores[st.store] = SqlRegistryStore(st.store.engine, audit=False)
    return found


def _caller(request: Request) -> Principal:
    principal: Principal = request.state.principal
    return principal


# -- bodies ------------------------------------------------------------------------------------
class ModelCreate(Body):
    name: Name
    description: Text | None = None
    tags: dict[Key, Value] = Field(default_factory=dict)


class ModelUpdate(Body):
    description: Text | None = None


class TagsIn(Body):
    tags: dict[Key, Value]


class DatasetIn(Body):
    uri: Annotated[str, Field(min_length=1, max_length=1024)]
    digest: Annotated[str, Field(max_length=64)] | None = None
    context: Annotated[str, Field(max_length=64)] | None = None


class VersionCreate(Body):
    source_uri: Annotated[str, Field(min_length=1, max_length=1100)]
    package_hash: Hash
    run_id: Annotated[str, Field(max_length=32)] | None = None
    flavor: Annotated[str, Field(max_length=64)] | None = None
    signature: dict[str, Any] | None = None
    metrics: dict[Key, float | None] = Field(default_factory=dict)
    params: dict[Key, Value] = Field(default_factory=dict)
    datasets: list[DatasetIn] = Field(default_factory=list, max_length=10_000)
    tags: dict[Key, Value] = Field(default_factory=dict)
    description: Text | None = None


class VersionUpdate(Body):
    status: VersionStatus | None = None
    description: Text | None = None


class AliasIn(Body):
    version: Version
    reason: Reason = None


class PolicyIn(Body):
    approvers: list[Name] = Field(default_factory=list, max_length=1000)


class PromotionIn(Body):
    version: Version
    alias: Name
    reason: Reason = None


class DecisionIn(Body):
    approve: bool
    reason: Reason = None


# -- models ------------------------------------------------------------------------------------
@router.get("/models", name="registry.models.search", dependencies=[READ])
def search_models(
    st: State,
    filter: Annotated[str | None, Query(max_length=100_000)] = None,
    max_results: Annotated[int, Query(ge=1, le=50_000)] = 1000,
) -> Response:
    models = _registry(st).search_registered_models(filter, max_results)
    return ok({"models": [m.to_dict() for m in models]})


@router.post("/models", name="registry.models.create", dependencies=[WRITE], status_code=201)
def create_model(body: ModelCreate, st: State, request: Request) -> Response:
    model = _registry(st).create_registered_model(
        body.name, description=body.description, tags=body.tags, actor=_caller(request).name
    )
    return ok(model.to_dict(), 201)


@router.get("/models/{name}", name="registry.models.get", dependencies=[READ])
def get_model(name: str, st: State) -> Response:
    return ok(_registry(st).get_registered_model(name).to_dict())


@router.patch("/models/{name}", name="registry.models.update", dependencies=[WRITE])
def update_model(name: str, body: ModelUpdate, st: State, request: Request) -> Response:
    model = _registry(st).update_registered_model(
        name, description=body.description, actor=_caller(request).name
    )
    return ok(model.to_dict())


@router.post(
    "/models/{name}/tags", name="registry.models.tags", dependencies=[WRITE], status_code=204
)
def set_model_tags(name: str, body: TagsIn, st: State, request: Request) -> Response:
    _registry(st).set_registered_model_tags(name, body.tags, actor=_caller(request).name)
    return Response(status_code=204)


@router.delete(
    "/models/{name}", name="registry.models.delete", dependencies=[WRITE], status_code=204
)
def delete_model(name: str, st: State, request: Request) -> Response:
    _registry(st).delete_registered_model(name, actor=_caller(request).name)
    return Response(status_code=204)


# -- versions ----------------------------------------------------------------------------------
@router.post(
    "/models/{name}/versions",
    name="registry.versions.create",
    dependencies=[WRITE],
    status_code=201,
)
def create_version(name: str, body: VersionCreate, st: State, request: Request) -> Response:
    fields = body.model_dump()
    fields["metrics"] = {k: float("nan") if v is None else v for k, v in body.metrics.items()}
    mv = _registry(st).create_model_version(
        name, NewVersion.from_dict(fields), actor=_caller(request).name
    )
    return ok(mv.to_dict(), 201)


@router.get("/models/{name}/versions", name="registry.versions.list", dependencies=[READ])
def list_versions(name: str, st: State, include_deleted: bool = False) -> Response:
    found = _registry(st).list_model_versions(name, include_deleted=include_deleted)
    return ok({"versions": [v.to_dict() for v in found]})


@router.get("/versions", name="registry.versions.by_package", dependencies=[READ])
def versions_by_package(st: State, package_hash: Annotated[str, Query(max_length=64)]) -> Response:
    found = _registry(st).find_versions_by_package(package_hash)
    return ok({"versions": [v.to_dict() for v in found]})


@router.get("/models/{name}/versions/{version}", name="registry.versions.get", dependencies=[READ])
def get_version(name: str, version: int, st: State) -> Response:
    return ok(_registry(st).get_model_version(name, version).to_dict())


@router.patch(
    "/models/{name}/versions/{version}", name="registry.versions.update", dependencies=[WRITE]
)
def update_version(
    name: str, version: int, body: VersionUpdate, st: State, request: Request
) -> Response:
    mv = _registry(st).update_model_version(
        name,
        version,
        status=body.status,
        description=body.description,
        actor=_caller(request).name,
    )
    return ok(mv.to_dict())


@router.post(
    "/models/{name}/versions/{version}/tags",
    name="registry.versions.tags",
    dependencies=[WRITE],
    status_code=204,
)
def set_version_tags(
    name: str, version: int, body: TagsIn, st: State, request: Request
) -> Response:
    _registry(st).set_model_version_tags(name, version, body.tags, actor=_caller(request).name)
    return Response(status_code=204)


@router.delete(
    "/models/{name}/versions/{version}/tags",
    name="registry.versions.tag_delete",
    dependencies=[WRITE],
    status_code=204,
)
def delete_version_tag(
    name: str, version: int, st: State, request: Request, key: Annotated[str, Query(max_length=250)]
) -> Response:
    _registry(st).delete_model_version_tag(name, version, key, actor=_caller(request).name)
    return Response(status_code=204)


# -- aliases -----------------------------------------------------------------------------------
@router.put(
    "/models/{name}/aliases/{alias}",
    name="registry.aliases.set",
    dependencies=[WRITE],
    status_code=204,
)
def set_alias(name: str, alias: str, body: AliasIn, st: State, request: Request) -> Response:
    approval.set_alias(
        _registry(st), name, alias, body.version, actor=_caller(request).name, reason=body.reason
    )
    return Response(status_code=204)


@router.delete(
    "/models/{name}/aliases/{alias}",
    name="registry.aliases.delete",
    dependencies=[WRITE],
    status_code=204,
)
def delete_alias(
    name: str,
    alias: str,
    st: State,
    request: Request,
    reason: Annotated[str | None, Query(max_length=10_000)] = None,
) -> Response:
    approval.delete_alias(_registry(st), name, alias, actor=_caller(request).name, reason=reason)
    return Response(status_code=204)


@router.get("/models/{name}/aliases/{alias}", name="registry.aliases.get", dependencies=[READ])
def get_alias(name: str, alias: str, st: State) -> Response:
    return ok(_registry(st).get_version_by_alias(name, alias).to_dict())


@router.get("/resolve", name="registry.resolve", dependencies=[READ])
def resolve(st: State, uri: Annotated[str, Query(max_length=600)]) -> Response:
    """The version a ``models:/`` URI names (``@latest`` included)."""
    return ok(resolve_version(_registry(st), uri).to_dict())


@router.get("/lineage", name="registry.lineage", dependencies=[READ])
def lineage(st: State, uri: Annotated[str, Query(max_length=600)]) -> Response:
    return ok(build_lineage(resolve_version(_registry(st), uri), st.store))


# -- policies and promotions -------------------------------------------------------------------
@router.get("/models/{name}/policies", name="registry.policies.list", dependencies=[READ])
def list_policies(name: str, st: State) -> Response:
    return ok({"policies": [p.to_dict() for p in _registry(st).list_policies(name)]})


@router.put("/models/{name}/policies/{alias}", name="registry.policies.set", dependencies=[APPROVE])
def set_policy(name: str, alias: str, body: PolicyIn, st: State, request: Request) -> Response:
    policy = _registry(st).set_policy(name, alias, body.approvers, actor=_caller(request).name)
    return ok(policy.to_dict())


@router.delete(
    "/models/{name}/policies/{alias}",
    name="registry.policies.delete",
    dependencies=[APPROVE],
    status_code=204,
)
def delete_policy(name: str, alias: str, st: State, request: Request) -> Response:
    _registry(st).delete_policy(name, alias, actor=_caller(request).name)
    return Response(status_code=204)


@router.get("/models/{name}/promotions", name="registry.promotions.list", dependencies=[READ])
def list_promotions(name: str, st: State, status: RequestStatus | None = None) -> Response:
    found = _registry(st).list_promotion_requests(name, status=status)
    return ok({"requests": [r.to_dict() for r in found]})


@router.post(
    "/models/{name}/promotions",
    name="registry.promotions.request",
    dependencies=[WRITE],
    status_code=201,
)
def request_promotion(name: str, body: PromotionIn, st: State, request: Request) -> Response:
    created = _registry(st).create_promotion_request(
        name, body.version, body.alias, actor=_caller(request).name, reason=body.reason
    )
    return ok(created.to_dict(), 201)


@router.get("/promotions/{request_id}", name="registry.promotions.get", dependencies=[READ])
def get_promotion(request_id: str, st: State) -> Response:
    return ok(_registry(st).get_promotion_request(request_id).to_dict())


@router.post(
    "/promotions/{request_id}/decision", name="registry.promotions.decide", dependencies=[APPROVE]
)
def decide_promotion(request_id: str, body: DecisionIn, st: State, request: Request) -> Response:
    """Approve or reject; the policy's named approvers (if any) must include the caller."""
    store = _registry(st)
    caller = _caller(request)
    pending = store.get_promotion_request(request_id)
    policy = approval.policy_for(store, pending.name, pending.alias)
    approval.check_approver(
        policy or AliasPolicy(pending.name, pending.alias),
        caller.name,
        role_allows(caller.role, Permission.APPROVE),
        pending.version,
    )
    decided = store.decide_promotion_request(
        request_id, approve=body.approve, actor=caller.name, reason=body.reason
    )
    return ok(decided.to_dict())


# -- history -----------------------------------------------------------------------------------
@router.get("/models/{name}/events", name="registry.events", dependencies=[READ])
def events(
    name: str,
    st: State,
    version: int | None = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
) -> Response:
    found = _registry(st).list_events(name, version=version, limit=limit)
    return ok({"events": [e.to_dict() for e in found]})
