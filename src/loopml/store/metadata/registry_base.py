"""The one interface to the model registry: a SQL store and a REST client implement it.

Every change takes the ``actor`` who makes it and is written, in the same transaction, to the
registry's history (``list_events``), so ``models show`` and a model card can tell who moved an
alias and why. Policy decisions (may this alias move without approval?) belong to the domain
layer (``loopml.registry``); the store only keeps the records consistent.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

from loopml.store.metadata.registry_entities import (
    AliasPolicy,
    DatasetLink,
    ModelVersion,
    PromotionRequest,
    RegisteredModel,
    RegistryEvent,
    RequestStatus,
    VersionStatus,
)

__all__ = ["NewVersion", "RegistryStore"]


class NewVersion:
    """What a registration writes: everything but the number, which the store assigns."""

    __slots__ = (
        "datasets",
        "description",
        "flavor",
        "metrics",
        "package_hash",
        "params",
        "run_id",
        "signature",
        "source_uri",
        "tags",
    )

    def __init__(
        self,
        *,
        source_uri: str,
        package_hash: str,
        run_id: str | None = None,
        flavor: str | None = None,
        signature: Mapping[str, Any] | None = None,
        metrics: Mapping[str, float] | None = None,
        params: Mapping[str, str] | None = None,
        datasets: Sequence[DatasetLink] = (),
        tags: Mapping[str, str] | None = None,
        description: str | None = None,
    ) -> None:
        self.source_uri = source_uri
        self.package_hash = package_hash
        self.run_id = run_id
        self.flavor = flavor
        self.signature = dict(signature) if signature is not None else None
        self.metrics = dict(metrics or {})
        self.params = dict(params or {})
        self.datasets = list(datasets)
        self.tags = dict(tags or {})
        self.description = description

    def to_dict(self) -> dict[str, Any]:
        body = {k: getattr(self, k) for k in self.__slots__}
        body["datasets"] = [
            {"uri": d.uri, "digest": d.digest, "context": d.context} for d in self.datasets
        ]
        return body

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> NewVersion:
        fields = dict(body)
        fields["datasets"] = [DatasetLink(**d) for d in fields.get("datasets") or []]
        return cls(**fields)


class RegistryStore(ABC):
    #: True when another process (the server) checks policies and knows the caller: the
    #: domain layer then leaves identity checks to it (the local user is not the caller).
    enforces_policy: bool = False

    # -- registered models ------------------------------------------------------------------
    @abstractmethod
    def create_registered_model(
        self,
        name: str,
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        actor: str | None = None,
    ) -> RegisteredModel:
        """``ALREADY_EXISTS`` if the name is taken."""

    @abstractmethod
    def get_registered_model(self, name: str) -> RegisteredModel: ...

    @abstractmethod
    def search_registered_models(
        self, filter: str | None = None, max_results: int = 1000
    ) -> list[RegisteredModel]:
        """Models matching ``filter`` (``name LIKE 'churn%'``, ``tags.team = 'growth'``)."""

    @abstractmethod
    def update_registered_model(
        self, name: str, *, description: str | None = None, actor: str | None = None
    ) -> RegisteredModel: ...

    @abstractmethod
    def set_registered_model_tags(
        self, name: str, tags: Mapping[str, str], *, actor: str | None = None
    ) -> None: ...

    @abstractmethod
    def delete_registered_model(self, name: str, *, actor: str | None = None) -> None:
        """Remove the model, its versions, aliases and policies (its history stays)."""

    # -- versions ---------------------------------------------------------------------------
    @abstractmethod
    def create_model_version(
        self, name: str, new: NewVersion, *, actor: str | None = None
    ) -> ModelVersion:
        """Number and record a version in one transaction, creating the model on first use."""

    @abstractmethod
    def get_model_version(self, name: str, version: int) -> ModelVersion: ...

    @abstractmethod
    def list_model_versions(
        self, name: str, *, include_deleted: bool = False
    ) -> list[ModelVersion]:
        """Versions of ``name``, newest first."""

    @abstractmethod
    def find_versions_by_package(self, package_hash: str) -> list[ModelVersion]: ...

    @abstractmethod
    def update_model_version(
        self,
        name: str,
        version: int,
        *,
        status: VersionStatus | None = None,
        description: str | None = None,
        actor: str | None = None,
    ) -> ModelVersion:
        """Archive, restore (READY) or delete a version; it must hold no alias to leave READY."""

    @abstractmethod
    def set_model_version_tags(
        self, name: str, version: int, tags: Mapping[str, str], *, actor: str | None = None
    ) -> None: ...

    @abstractmethod
    def delete_model_version_tag(
        self, name: str, version: int, key: str, *, actor: str | None = None
    ) -> None: ...

    # -- aliases ----------------------------------------------------------------------------
    @abstractmethod
    def set_alias(
        self,
        name: str,
        alias: str,
        version: int,
        *,
        actor: str | None = None,
        reason: str | None = None,
    ) -> None:
        """Point ``alias`` at a READY ``version``, atomically (readers see old or new)."""

    @abstractmethod
    def delete_alias(
        self, name: str, alias: str, *, actor: str | None = None, reason: str | None = None
    ) -> None: ...

    @abstractmethod
    def get_version_by_alias(self, name: str, alias: str) -> ModelVersion: ...

    # -- approval policies and promotion requests -------------------------------------------
    @abstractmethod
    def set_policy(
        self,
        name: str,
        alias: str,
        approvers: Sequence[str] = (),
        *,
        actor: str | None = None,
    ) -> AliasPolicy: ...

    @abstractmethod
    def delete_policy(self, name: str, alias: str, *, actor: str | None = None) -> None: ...

    @abstractmethod
    def list_policies(self, name: str) -> list[AliasPolicy]: ...

    @abstractmethod
    def create_promotion_request(
        self,
        name: str,
        version: int,
        alias: str,
        *,
        actor: str | None = None,
        reason: str | None = None,
    ) -> PromotionRequest:
        """A PENDING request (the existing one if the same promotion is already pending)."""

    @abstractmethod
    def decide_promotion_request(
        self,
        request_id: str,
        *,
        approve: bool,
        actor: str | None = None,
        reason: str | None = None,
    ) -> PromotionRequest:
        """Approve (and move the alias, in the same transaction) or reject a PENDING request."""

    @abstractmethod
    def get_promotion_request(self, request_id: str) -> PromotionRequest: ...

    @abstractmethod
    def list_promotion_requests(
        self, name: str, *, status: RequestStatus | None = None
    ) -> list[PromotionRequest]: ...

    # -- history ----------------------------------------------------------------------------
    @abstractmethod
    def list_events(
        self, name: str, *, version: int | None = None, limit: int = 1000
    ) -> list[RegistryEvent]:
        """Changes to ``name`` (and to ``version`` only, if given), oldest first."""

    @abstractmethod
    def close(self) -> None: ...
