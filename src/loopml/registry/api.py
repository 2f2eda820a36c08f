"""The registry functions a user types (``loopml.register_model``, ``loopml.set_alias``, ...).

They act for the local user (``LOOPML_USER`` or the OS user) on the process's stores; the
server's routes call the same domain functions with the authenticated user instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from loopml.registry import approval
from loopml.registry._stores import context, current_user, registry_store
from loopml.registry.register import register
from loopml.registry.resolve import resolve_version
from loopml.store.metadata.registry_entities import (
    AliasPolicy,
    ModelVersion,
    PromotionRequest,
    RegisteredModel,
    RegistryEvent,
    VersionStatus,
)

__all__ = [
    "approve_promotion",
    "archive_model_version",
    "delete_alias",
    "delete_model_version",
    "delete_registered_model",
    "get_model_version",
    "get_registered_model",
    "list_model_versions",
    "model_history",
    "promote",
    "register_model",
    "reject_promotion",
    "remove_approval_policy",
    "restore_model_version",
    "search_models",
    "set_alias",
    "set_approval_policy",
    "set_model_version_tags",
    "set_registered_model_tags",
    "update_registered_model",
]


def register_model(
    uri: str,
    name: str,
    description: str | None = None,
    tags: Mapping[str, Any] | None = None,
) -> ModelVersion:
    """Register the package at ``uri`` (``runs:/<run_id>/model`` or ``ModelInfo.uri``) as the
    next version of model ``name``, creating the model on first use."""
    ctx = context()
    return register(
        ctx,
        registry_store(ctx),
        uri,
        name,
        description=description,
        tags=tags,
        actor=current_user(),
    )


def get_model_version(uri_or_name: str, version: int | None = None) -> ModelVersion:
    """``get_model_version("models:/churn@champion")`` or ``get_model_version("churn", 3)``."""
    if version is not None:
        return registry_store().get_model_version(uri_or_name, int(version))
    return resolve_version(registry_store(), uri_or_name)


def get_registered_model(name: str) -> RegisteredModel:
    return registry_store().get_registered_model(name)


def search_models(filter: str | None = None, max_results: int = 1000) -> list[RegisteredModel]:
    """Models matching ``filter``, e.g. ``"tags.team = 'growth'"`` or ``"name LIKE 'churn%'"``."""
    return registry_store().search_registered_models(filter, max_results)


def list_model_versions(name: str, include_deleted: bool = False) -> list[ModelVersion]:
    return registry_store().list_model_versions(name, include_deleted=include_deleted)


def update_registered_model(name: str, description: str | None) -> RegisteredModel:
    return registry_store().update_registered_model(
        name, description=description, actor=current_user()
    )


def set_registered_model_tags(name: str, tags: Mapping[str, Any]) -> None:
    registry_store().set_registered_model_tags(
        name, {k: str(v) for k, v in tags.items()}, actor=current_user()
    )


def set_model_version_tags(name: str, version: int, tags: Mapping[str, Any]) -> None:
    registry_store().set_model_version_tags(
        name, int(version), {k: str(v) for k, v in tags.items()}, actor=current_user()
    )


def set_alias(name: str, alias: str, version: int, reason: str | None = None) -> None:
    """Point ``alias`` at ``version``; a protected alias needs :func:`promote` instead."""
    approval.set_alias(
        registry_store(), name, alias, int(version), actor=current_user(), reason=reason
    )


def delete_alias(name: str, alias: str, reason: str | None = None) -> None:
    approval.delete_alias(registry_store(), name, alias, actor=current_user(), reason=reason)


def promote(
    name: str, version: int, alias: str, *, approve: bool = False, reason: str | None = None
) -> approval.PromotionResult:
    """Move ``alias`` to ``version``; under a policy, request it (and confirm it if
    ``approve``: the local user approves explicitly)."""
    return approval.promote(
        registry_store(),
        name,
        int(version),
        alias,
        actor=current_user(),
        approve=approve,
        reason=reason,
    )


def approve_promotion(
    name: str, version: int, alias: str, reason: str | None = None
) -> PromotionRequest:
    return approval.approve(
        registry_store(), name, int(version), alias, actor=current_user(), reason=reason
    )


def reject_promotion(name: str, version: int, alias: str, reason: str) -> PromotionRequest:
    return approval.reject(
        registry_store(), name, int(version), alias, actor=current_user(), reason=reason
    )


def set_approval_policy(name: str, alias: str, approvers: Sequence[str] = ()) -> AliasPolicy:
    """Protect ``alias`` of ``name``: moving it then needs an approval (by ``approvers``, if
    given)."""
    return registry_store().set_policy(name, alias, approvers, actor=current_user())


def remove_approval_policy(name: str, alias: str) -> None:
    registry_store().delete_policy(name, alias, actor=current_user())


def _set_status(name: str, version: int, status: VersionStatus) -> ModelVersion:
    return registry_store().update_model_version(
        name, int(version), status=status, actor=current_user()
    )


def archive_model_version(name: str, version: int) -> ModelVersion:
    return _set_status(name, version, VersionStatus.ARCHIVED)


def restore_model_version(name: str, version: int) -> ModelVersion:
    return _set_status(name, version, VersionStatus.READY)


def delete_model_version(name: str, version: int) -> ModelVersion:
    return _set_status(name, version, VersionStatus.DELETED)


def delete_registered_model(name: str) -> None:
    registry_store().delete_registered_model(name, actor=current_user())


def model_history(name: str, version: int | None = None) -> list[RegistryEvent]:
    return registry_store().list_events(name, version=version)
