"""Request and response bodies of the REST API (pydantic): the contract in ``/openapi.json``.

Every string refuses NUL bytes and every integer fits 64 bits, so that bad input is a 422 here
rather than a database error later. Special floats travel as ``"NaN"``/``"Infinity"`` strings.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from loopml.store.metadata.auth import Role
from loopml.store.metadata.entities import RunStatus


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain a NUL byte")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
Name = Annotated[str, Field(min_length=1, max_length=250), AfterValidator(_no_nul)]
Key = Annotated[str, Field(min_length=1, max_length=250), AfterValidator(_no_nul)]
Value = Annotated[str, Field(max_length=1_000_000), AfterValidator(_no_nul)]
Id = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_no_nul)]
I64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
Ms = Annotated[int, Field(ge=0, le=2**62)]
WireFloat = float | Literal["NaN", "Infinity", "-Infinity"]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- requests ---------------------------------------------------------------------------------
class ExperimentCreate(Body):
    name: Name
    tags: dict[Key, Value] = Field(default_factory=dict)


class ExperimentRename(Body):
    name: Name


class RunCreate(Body):
    experiment_id: Id
    run_name: Name | None = None
    start_ms: Ms | None = None
    parent_run_id: Id | None = None
    tags: dict[Key, Value] = Field(default_factory=dict)
    user: Name | None = None


class RunUpdate(Body):
    status: RunStatus | None = None
    end_ms: Ms | None = None
    status_message: Value | None = None
    run_name: Name | None = None


class ParamsIn(Body):
    params: dict[Key, Value]


class TagsIn(Body):
    tags: dict[Key, Value]


class MetricBatch(Body):
    """Points as ``[run_id, key, value, step, timestamp_ms]``; a ``null`` value is NaN."""

    points: list[tuple[Id, Key, float | None, I64, Ms]] = Field(max_length=1_000_000)


class SearchIn(Body):
    experiment_ids: list[Id] = Field(max_length=10_000)
    filter: Annotated[str, Field(max_length=100_000), AfterValidator(_no_nul)] | None = None
    order_by: list[Annotated[str, Field(max_length=1000), AfterValidator(_no_nul)]] | None = None
    max_results: int = Field(default=1000, ge=1, le=50_000)
    page_token: Annotated[str, Field(max_length=1000), AfterValidator(_no_nul)] | None = None
    include_deleted: bool = False


class ArtifactIn(Body):
    path: Annotated[str, Field(min_length=1, max_length=1024)]
    object_hash: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    size: Annotated[int, Field(ge=0, le=2**62)]
    kind: Literal["file", "dir"]


class PurgeIn(Body):
    older_than_ms: Ms


class UserCreate(Body):
    name: Annotated[str, Field(min_length=1, max_length=128), AfterValidator(_no_nul)]
    role: Role


class UserUpdate(Body):
    role: Role | None = None
    disabled: bool | None = None


class TokenCreate(Body):
    user: Annotated[str, Field(min_length=1, max_length=128), AfterValidator(_no_nul)]
    expires_in_s: Annotated[int, Field(ge=1, le=10 * 365 * 86_400)] | None = None
    description: Annotated[str, Field(max_length=256), AfterValidator(_no_nul)] | None = None


# -- responses (documented in /openapi.json; routes return plain dicts of these shapes) -------
class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict[str, str | int | float | bool] | None = None


class ErrorEnvelope(BaseModel):
    error: ErrorBody


class ExperimentOut(BaseModel):
    experiment_id: str
    name: str
    lifecycle_stage: str
    created_ms: int
    updated_ms: int
    tags: dict[str, str]


class ExperimentsOut(BaseModel):
    experiments: list[ExperimentOut]


class RunOut(BaseModel):
    run_id: str
    experiment_id: str
    run_name: str
    status: str
    start_ms: int
    end_ms: int | None
    parent_run_id: str | None
    lifecycle_stage: str
    user: str | None
    status_message: str | None
    params: dict[str, str]
    metrics: dict[str, WireFloat]
    tags: dict[str, str]


class RunsOut(BaseModel):
    runs: list[RunOut]
    next_page_token: str | None


class MetricOut(BaseModel):
    key: str
    value: WireFloat
    step: int
    timestamp_ms: int


class MetricsOut(BaseModel):
    metrics: list[MetricOut]


class LoggedOut(BaseModel):
    points: int
    duplicate: bool


class ArtifactOut(BaseModel):
    path: str
    object_hash: str
    size: int
    kind: str
    created_ms: int


class ArtifactsOut(BaseModel):
    artifacts: list[ArtifactOut]


class ObjectOut(BaseModel):
    hash: str
    size: int


class ReferencesOut(BaseModel):
    live: list[str]
    manifests: list[str]


class PurgedOut(BaseModel):
    runs: int


class UserOut(BaseModel):
    name: str
    role: str
    created_ms: int
    disabled: bool


class UsersOut(BaseModel):
    users: list[UserOut]


class TokenOut(BaseModel):
    token_id: str
    user: str
    created_ms: int
    expires_ms: int | None
    revoked_ms: int | None
    description: str | None


class NewTokenOut(TokenOut):
    token: str


class TokensOut(BaseModel):
    tokens: list[TokenOut]


class AuditOut(BaseModel):
    id: int
    ts_ms: int
    actor: str
    action: str
    target: str
    summary: dict[str, object]
    request_id: str | None


class AuditListOut(BaseModel):
    records: list[AuditOut]


class WhoAmIOut(BaseModel):
    name: str
    role: str


class InfoOut(BaseModel):
    version: str
    auth: bool
    object_store: str
    max_body_bytes: int


class StatusOut(BaseModel):
    status: str
    checks: dict[str, str] = Field(default_factory=dict)


class EmptyOut(BaseModel):
    pass
