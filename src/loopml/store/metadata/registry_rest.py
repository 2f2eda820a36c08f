"""The model registry over HTTP: the same interface as the SQL store, talking to
``/api/v1/registry`` of a loopml server.

The server knows who calls (the token's user), checks approval policies and records every
change, so ``actor`` arguments are not sent: a client cannot claim to be someone else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from loopml.store.metadata._http import HttpClient
from loopml.store.metadata.registry_base import NewVersion, RegistryStore
from loopml.store.metadata.registry_entities import (
    AliasPolicy,
    ModelVersion,
    PromotionRequest,
    RegisteredModel,
    RegistryEvent,
    RequestStatus,
    VersionStatus,
)

API = "/api/v1/registry"


def _seg(value: str) -> str:
    return quote(str(value), safe="")


def _model(name: str) -> str:
    return f"/models/{_seg(name)}"


def _version(name: str, version: int) -> str:
    return f"{_model(name)}/versions/{int(version)}"


class RestRegistryStore(RegistryStore):
    enforces_policy = True

    def __init__(self, http: HttpClient) -> None:
        self.http = http

    def close(self) -> None:
        """The HTTP client belongs to the metadata store, which closes it."""

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.http.json(method, API + path, **kwargs)

    # -- registered models ------------------------------------------------------------------
    def create_registered_model(
        self,
        name: str,
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        actor: str | None = None,
    ) -> RegisteredModel:
        body = {"name": name, "description": description, "tags": dict(tags or {})}
        return RegisteredModel.from_dict(self._json("POST", "/models", json=body))

    def get_registered_model(self, name: str) -> RegisteredModel:
        return RegisteredModel.from_dict(self._json("GET", _model(name)))

    def search_registered_models(
        self, filter: str | None = None, max_results: int = 1000
    ) -> list[RegisteredModel]:
        params: dict[str, Any] = {"max_results": max_results}
        if filter is not None:
            params["filter"] = filter
        body = self._json("GET", "/models", params=params)
        return [RegisteredModel.from_dict(m) for m in body["models"]]

    def update_registered_model(
        self, name: str, *, description: str | None = None, actor: str | None = None
    ) -> RegisteredModel:
        body = {"description": description}
        return RegisteredModel.from_dict(
            self._json("PATCH", _model(name), json=body, idempotent=True)
        )

    def set_registered_model_tags(
        self, name: str, tags: Mapping[str, str], *, actor: str | None = None
    ) -> None:
        if tags:
            body = {"tags": dict(tags)}
            self._json("POST", f"{_model(name)}/tags", json=body, idempotent=True)

    def delete_registered_model(self, name: str, *, actor: str | None = None) -> None:
        self._json("DELETE", _model(name))

    # -- versions ---------------------------------------------------------------------------
    def create_model_version(
        self, name: str, new: NewVersion, *, actor: str | None = None
    ) -> ModelVersion:
        body = self._json("POST", f"{_model(name)}/versions", json=new.to_dict())
        return ModelVersion.from_dict(body)

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        return ModelVersion.from_dict(self._json("GET", _version(name, version)))

    def list_model_versions(
        self, name: str, *, include_deleted: bool = False
    ) -> list[ModelVersion]:
        params = {"include_deleted": "true" if include_deleted else "false"}
        body = self._json("GET", f"{_model(name)}/versions", params=params)
        return [ModelVersion.from_dict(v) for v in body["versions"]]

    def find_versions_by_package(self, package_hash: str) -> list[ModelVersion]:
        body = self._json("GET", "/versions", params={"package_hash": package_hash})
        return [ModelVersion.from_dict(v) for v in body["versions"]]

    def update_model_version(
        self,
        name: str,
        version: int,
        *,
        status: VersionStatus | None = None,
        description: str | None = None,
        actor: str | None = None,
    ) -> ModelVersion:
        body = {
            "status": None if status is None else VersionStatus(status).value,
            "description": description,
        }
        return ModelVersion.from_dict(
            self._json("PATCH", _version(name, version), json=body, idempotent=True)
        )

    def set_model_version_tags(
        self, name: str, version: int, tags: Mapping[str, str], *, actor: str | None = None
    ) -> None:
        if tags:
            body = {"tags": dict(tags)}
            self._json("POST", f"{_version(name, version)}/tags", json=body, idempotent=True)

    def delete_model_version_tag(
        self, name: str, version: int, key: str, *, actor: str | None = None
    ) -> None:
        self._json("DELETE", f"{_version(name, version)}/tags", params={"key": key})

    # -- aliases ----------------------------------------------------------------------------
    def set_alias(
        self,
        name: str,
        alias: str,
        version: int,
        *,
        actor: str | None = None,
        reason: str | None = None,
    ) -> None:
        body = {"version": int(version), "reason": reason}
        self._json("PUT", f"{_model(name)}/aliases/{_seg(alias)}", json=body)

    def delete_alias(
        self, name: str, alias: str, *, actor: str | None = None, reason: str | None = None
    ) -> None:
        params = {"reason": reason} if reason else None
        self._json("DELETE", f"{_model(name)}/aliases/{_seg(alias)}", params=params)

    def get_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return ModelVersion.from_dict(self._json("GET", f"{_model(name)}/aliases/{_seg(alias)}"))

    # -- approval policies and promotion requests -------------------------------------------
    def set_policy(
        self,
        name: str,
        alias: str,
        approvers: Sequence[str] = (),
        *,
        actor: str | None = None,
    ) -> AliasPolicy:
        body = {"approvers": list(approvers)}
        path = f"{_model(name)}/policies/{_seg(alias)}"
        return AliasPolicy.from_dict(self._json("PUT", path, json=body))

    def delete_policy(self, name: str, alias: str, *, actor: str | None = None) -> None:
        self._json("DELETE", f"{_model(name)}/policies/{_seg(alias)}")

    def list_policies(self, name: str) -> list[AliasPolicy]:
        body = self._json("GET", f"{_model(name)}/policies")
        return [AliasPolicy.from_dict(p) for p in body["policies"]]

    def create_promotion_request(
        self,
        name: str,
        version: int,
        alias: str,
        *,
        actor: str | None = None,
        reason: str | None = None,
    ) -> PromotionRequest:
        body = {"version": int(version), "alias": alias, "reason": reason}
        # a repeated request returns the pending one, so a retry is harmless
        path = f"{_model(name)}/promotions"
        return PromotionRequest.from_dict(self._json("POST", path, json=body, idempotent=True))

    def decide_promotion_request(
        self,
        request_id: str,
        *,
        approve: bool,
        actor: str | None = None,
        reason: str | None = None,
    ) -> PromotionRequest:
        body = {"approve": approve, "reason": reason}
        path = f"/promotions/{_seg(request_id)}/decision"
        return PromotionRequest.from_dict(self._json("POST", path, json=body))

    def get_promotion_request(self, request_id: str) -> PromotionRequest:
        return PromotionRequest.from_dict(self._json("GET", f"/promotions/{_seg(request_id)}"))

    def list_promotion_requests(
        self, name: str, *, status: RequestStatus | None = None
    ) -> list[PromotionRequest]:
        params = {"status": RequestStatus(status).value} if status is not None else None
        body = self._json("GET", f"{_model(name)}/promotions", params=params)
        return [PromotionRequest.from_dict(r) for r in body["requests"]]

    # -- history ----------------------------------------------------------------------------
    def list_events(
        self, name: str, *, version: int | None = None, limit: int = 1000
    ) -> list[RegistryEvent]:
        params: dict[str, Any] = {"limit": limit}
        if version is not None:
            params["version"] = version
        body = self._json("GET", f"{_model(name)}/events", params=params)
        return [RegistryEvent.from_dict(e) for e in body["events"]]
