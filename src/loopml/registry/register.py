"""Registering a logged model package as the next version of a named model.

One read of the run and the package manifest, one write transaction: the package is already
content-addressed, so nothing is hashed or copied (registering takes a few milliseconds).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from loopml.registry.inputs import dataset_links
from loopml.registry.package import read_package
from loopml.store.metadata.registry_base import NewVersion, RegistryStore
from loopml.store.metadata.registry_entities import ModelVersion, check_model_name

if TYPE_CHECKING:
    from loopml.tracking.context import Context


def register(
    ctx: Context,
    store: RegistryStore,
    uri: str,
    name: str,
    *,
    description: str | None = None,
    tags: Mapping[str, Any] | None = None,
    actor: str | None = None,
) -> ModelVersion:
    check_model_name(name)
    ctx.flush()  # metrics still buffered belong in the snapshot
    package = read_package(ctx, uri)
    run = package.run
    new = NewVersion(
        source_uri=package.source_uri,
        package_hash=package.package_hash,
        run_id=run.run_id,
        flavor=package.flavor,
        signature=package.signature,
        metrics=run.metrics,
        params=run.params,
        datasets=dataset_links(ctx, run),
        tags={k: str(v) for k, v in (tags or {}).items()},
        description=description,
    )
    return store.create_model_version(name, new, actor=actor)
