"""The model registry: named models, numbered versions linked to their run and data, aliases,
approval policies, lineage and model cards.

Importing it registers the ``models:/`` resolver with the model package, so that
``loopml.load_model("models:/churn@champion")`` finds the version's package.
"""

from __future__ import annotations

import importlib

from loopml.registry.api import (
    approve_promotion,
    archive_model_version,
    delete_alias,
    delete_model_version,
    delete_registered_model,
    get_model_version,
    get_registered_model,
    list_model_versions,
    model_history,
    promote,
    register_model,
    reject_promotion,
    remove_approval_policy,
    restore_model_version,
    search_models,
    set_alias,
    set_approval_policy,
    set_model_version_tags,
    set_registered_model_tags,
    update_registered_model,
)
from loopml.registry.resolve import resolve_package_hash
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

__all__ = [
    "AliasPolicy",
    "DatasetLink",
    "ModelVersion",
    "PromotionRequest",
    "RegisteredModel",
    "RegistryEvent",
    "RequestStatus",
    "VersionStatus",
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
    "resolve_package_hash",
    "restore_model_version",
    "search_models",
    "set_alias",
    "set_approval_policy",
    "set_model_version_tags",
    "set_registered_model_tags",
    "update_registered_model",
]


def _register_resolver() -> None:
    # Imported by name: the model package sits beside the registry in the domain layer, and
    # the registry must work (and type-check) in an install without it.
    try:
        resolve = importlib.import_module("loopml.models.resolve")
    except ImportError:
        return
    resolve.register_uri_resolver("models", resolve_package_hash)


_register_resolver()
