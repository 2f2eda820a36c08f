"""Plain records of the model registry; the same for the SQL store and the REST client."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from loopml.errors import InvalidParameterError

__all__ = [
    "AliasPolicy",
    "DatasetLink",
    "ModelVersion",
    "PromotionRequest",
    "RegisteredModel",
    "RegistryEvent",
    "RequestStatus",
    "VersionStatus",
    "check_alias",
    "check_model_name",
    "metrics_in",
]

# The characters a ``models:/<name>@<alias>`` URI accepts (see ``loopml.uris``).
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,254}$")
RESERVED_ALIASES = frozenset({"latest"})


def check_model_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidParameterError(
            f"{name!r} is not a valid model name: use letters, digits, '_', '.' and '-' "
            "(starting with a letter or digit), so that models:/<name>/<version> can name it",
            name=name,
        )
    return name


def check_alias(alias: Any) -> str:
    if not isinstance(alias, str) or not _NAME.match(alias):
        raise InvalidParameterError(
            f"{alias!r} is not a valid alias: use letters, digits, '_', '.' and '-', "
            "e.g. champion or challenger",
            alias=alias,
        )
    if alias.isdigit() or alias.lower() in RESERVED_ALIASES:
        raise InvalidParameterError(
            f"alias {alias!r} is reserved: a number names a version and 'latest' always means "
            "the newest version; choose a word such as champion",
            alias=alias,
        )
    return alias


def metrics_in(values: dict[str, Any] | None) -> dict[str, float]:
    """Metrics read back from JSON, where a NaN was written as null."""
    return {k: math.nan if v is None else float(v) for k, v in (values or {}).items()}


class VersionStatus(StrEnum):
    READY = "READY"
    ARCHIVED = "ARCHIVED"
    DELETED = "DELETED"


class RequestStatus(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


@dataclass(frozen=True, slots=True)
class DatasetLink:
    """A dataset version a model's run read: its URI and, when known, its content hash."""

    uri: str
    digest: str | None = None
    context: str | None = None  # e.g. "training", "validation"


@dataclass(frozen=True, slots=True)
class ModelVersion:
    name: str
    version: int
    status: VersionStatus
    source_uri: str  # runs:/<run_id>/<path>
    run_id: str | None
    package_hash: str
    flavor: str | None
    created_ms: int
    updated_ms: int
    user: str | None = None
    description: str | None = None
    signature: dict[str, Any] | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    datasets: list[DatasetLink] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    def to_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["status"] = str(self.status)
        body["uri"] = self.uri
        return body

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> ModelVersion:
        fields = {k: v for k, v in body.items() if k != "uri"}
        fields["status"] = VersionStatus(fields["status"])
        fields["metrics"] = metrics_in(fields.get("metrics"))
        fields["datasets"] = [DatasetLink(**d) for d in fields.get("datasets") or []]
        return cls(**fields)


@dataclass(frozen=True, slots=True)
class RegisteredModel:
    name: str
    created_ms: int
    updated_ms: int
    description: str | None = None
    owner: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)  # alias -> version
    latest_version: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> RegisteredModel:
        return cls(**body)


@dataclass(frozen=True, slots=True)
class AliasPolicy:
    """Moving ``alias`` of model ``name`` needs an approval; ``approvers`` may give it.

    An empty ``approvers`` list means any user allowed to approve (the ``approver`` role on a
    server, anyone who passes ``--approve`` locally).
    """

    name: str
    alias: str
    approvers: list[str] = field(default_factory=list)
    created_ms: int = 0
    created_by: str | None = None

    def allows(self, user: str | None) -> bool:
        return not self.approvers or (user is not None and user in self.approvers)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> AliasPolicy:
        return cls(**body)


@dataclass(frozen=True, slots=True)
class PromotionRequest:
    request_id: str
    name: str
    version: int
    alias: str
    status: RequestStatus
    requested_by: str | None
    requested_ms: int
    reason: str | None = None
    decided_by: str | None = None
    decided_ms: int | None = None
    decision_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["status"] = str(self.status)
        return body

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> PromotionRequest:
        return cls(**{**body, "status": RequestStatus(body["status"])})


@dataclass(frozen=True, slots=True)
class RegistryEvent:
    """One change to the registry: who did what, when, to which model, version and alias."""

    event_id: int
    ts_ms: int
    actor: str | None
    action: str  # model.create, version.create, alias.set, promotion.request, ...
    name: str
    version: int | None = None
    alias: str | None = None
    reason: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> RegistryEvent:
        return cls(**body)
