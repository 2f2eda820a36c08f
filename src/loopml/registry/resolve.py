"""``models:/<name>/<version>`` and ``models:/<name>@<alias>`` to a version and its package.

``@latest`` means the newest READY version unless the model has an alias named so (it cannot:
``latest`` is reserved). A DELETED version never resolves; an ARCHIVED one does when named by
number, so an old deployment can still be reproduced.
"""

from __future__ import annotations

from loopml.errors import InvalidParameterError, InvalidStateError, NotFoundError
from loopml.store.metadata.registry_base import RegistryStore
from loopml.store.metadata.registry_entities import ModelVersion, VersionStatus
from loopml.uris import ModelURI, parse_uri


def parse_model_uri(uri: str) -> ModelURI:
    parsed = parse_uri(uri) if isinstance(uri, str) else None
    if not isinstance(parsed, ModelURI):
        raise InvalidParameterError(
            f"{uri!r} is not a model URI: use models:/<name>/<version> or models:/<name>@<alias>",
            uri=uri,
        )
    return parsed


def resolve_version(store: RegistryStore, uri: str | ModelURI) -> ModelVersion:
    parsed = parse_model_uri(uri) if isinstance(uri, str) else uri
    if parsed.alias is not None and parsed.alias.lower() == "latest":
        versions = [
            v for v in store.list_model_versions(parsed.name) if v.status is VersionStatus.READY
        ]
        if not versions:
            raise NotFoundError(
                f"model {parsed.name!r} has no READY version; register one with "
                f"loopml.register_model(uri, {parsed.name!r})",
                name=parsed.name,
            )
        return versions[0]
    if parsed.alias is not None:
        return store.get_version_by_alias(parsed.name, parsed.alias)
    assert parsed.version is not None
    mv = store.get_model_version(parsed.name, parsed.version)
    if mv.status is VersionStatus.DELETED:
        raise InvalidStateError(
            f"{parsed} is deleted; restore it with `loopml models restore {parsed.name} "
            f"{parsed.version}` or use another version",
            uri=str(parsed),
        )
    return mv


def resolve_package_hash(uri: str) -> str:
    """The package hash behind a ``models:/`` URI (the resolver ``load_model`` calls)."""
    from loopml.registry._stores import registry_store

    return resolve_version(registry_store(), uri).package_hash
