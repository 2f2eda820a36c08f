"""The deployments SDK: create, change, promote and roll back named serving configurations.

Every change is a new configuration version in the metadata store (and a row in the audit log),
so ``rollback_deployment`` is just one more version holding an older configuration.
"""

from __future__ import annotations

from dataclasses import replace

from loopml.errors import InvalidParameterError, InvalidStateError
from loopml.serving.config import Batching, DeploymentConfig, Route
from loopml.store.metadata.deployments_base import DeploymentRecord, DeploymentStore, RouteCounter

__all__ = [
    "create_deployment",
    "delete_deployment",
    "deployment_counters",
    "deployment_history",
    "deployment_store",
    "get_deployment",
    "list_deployments",
    "promote_deployment",
    "rollback_deployment",
    "update_deployment",
]


def deployment_store() -> DeploymentStore:
    """The deployment records beside the project's metadata store (a database or a server)."""
    from loopml.store.metadata.rest import RestMetadataStore
    from loopml.store.metadata.sql import SqlMetadataStore
    from loopml.tracking.context import get_context

    meta = get_context().metadata
    if isinstance(meta, SqlMetadataStore):
        from loopml.store.metadata.deployments_sql import SqlDeploymentStore

        return SqlDeploymentStore(meta.engine)
    if isinstance(meta, RestMetadataStore):
        from loopml.store.metadata.deployments_rest import RestDeploymentStore

        return RestDeploymentStore(meta.http)
    raise InvalidStateError(f"the metadata store {type(meta).__name__} keeps no deployments")


def _user() -> str:
    from loopml.registry._stores import current_user

    return current_user()


def create_deployment(
    name: str,
    model: str,
    *,
    canary: str | None = None,
    canary_weight: int = 10,
    ab: str | None = None,
    split: int = 50,
    sticky_header: str | None = None,
    shadows: list[str] | None = None,
    batching: bool = True,
    max_batch_size: int = 256,
    max_queue: int = 1024,
    workers: int = 1,
    payload_logging: bool = True,
    auth: bool = False,
) -> DeploymentRecord:
    """A new deployment serving ``model``; optionally a weighted ``canary`` or an ``ab`` test
    (``split`` percent to B, sticky by ``sticky_header``), plus ``shadows`` that see copies."""
    config = DeploymentConfig(
        routes=tuple(_routes(model, canary, canary_weight, ab, split)),
        sticky_header=sticky_header,
        shadows=tuple(shadows or ()),
        batching=Batching(batching, max_batch_size, max_queue),
        workers=workers,
        payload_logging=payload_logging,
        auth=auth,
    )
    return deployment_store().create_deployment(name, config.to_dict(), _user())


def update_deployment(
    name: str,
    *,
    model: str | None = None,
    canary: str | None = None,
    canary_weight: int | None = None,
    ab: str | None = None,
    split: int | None = None,
    sticky_header: str | None = None,
    shadows: list[str] | None = None,
    batching: bool | None = None,
    max_batch_size: int | None = None,
    max_queue: int | None = None,
    workers: int | None = None,
    payload_logging: bool | None = None,
    auth: bool | None = None,
) -> DeploymentRecord:
    """A new version of ``name`` with the given fields changed and the rest kept."""
    store = deployment_store()
    old = DeploymentConfig.from_dict(store.get_deployment(name).config)
    routes = {r.name: r for r in old.routes}
    main = model or (routes.get("main") or routes.get("a") or old.routes[0]).model
    old_canary = routes.get("canary")
    old_b = routes.get("b")
    canary = canary or (old_canary.model if old_canary and canary_weight != 0 else None)
    weight = (
        canary_weight if canary_weight is not None else (old_canary.weight if old_canary else 10)
    )
    ab = ab or (old_b.model if old_b else None)
    b_split = split if split is not None else (old_b.weight if old_b else 50)
    b = old.batching
    config = DeploymentConfig(
        routes=tuple(_routes(main, canary, weight, ab, b_split)),
        sticky_header=sticky_header if sticky_header is not None else old.sticky_header,
        shadows=tuple(shadows) if shadows is not None else old.shadows,
        batching=Batching(
            b.enabled if batching is None else batching,
            max_batch_size or b.max_batch_size,
            max_queue or b.max_queue,
        ),
        workers=workers or old.workers,
        payload_logging=old.payload_logging if payload_logging is None else payload_logging,
        auth=old.auth if auth is None else auth,
    )
    if config == old:
        return store.get_deployment(name)  # nothing changed: no new version
    return store.add_version(name, config.to_dict(), _user(), "update")


def promote_deployment(name: str, route: str | None = None) -> DeploymentRecord:
    """Make the canary (or A/B route ``route``, default ``b``) the only route, at 100%."""
    store = deployment_store()
    config = DeploymentConfig.from_dict(store.get_deployment(name).config)
    routes = {r.name: r for r in config.routes}
    pick = route or ("canary" if "canary" in routes else "b")
    if pick not in routes or len(routes) == 1:
        raise InvalidStateError(
            f"deployment {name!r} has no route {pick!r} to promote (routes: "
            f"{', '.join(routes)}); add one with `loopml deploy update {name} --canary <uri>`",
            name=name,
        )
    promoted = replace(config, routes=(Route("main", routes[pick].model, 100),), sticky_header=None)
    return store.add_version(name, promoted.to_dict(), _user(), f"promote {pick}")


def rollback_deployment(name: str, to_version: int | None = None) -> DeploymentRecord:
    """A new version holding the configuration of ``to_version`` (default: the one before the
    current version)."""
    store = deployment_store()
    current = store.get_deployment(name)
    target = to_version if to_version is not None else current.version - 1
    if target < 1 or target == current.version:
        raise InvalidStateError(
            f"deployment {name!r} is at version {current.version}: there is no earlier "
            "configuration to roll back to"
            if to_version is None
            else f"cannot roll back {name!r} to version {target}",
            name=name,
        )
    old = store.get_deployment(name, target)
    return store.add_version(name, old.config, _user(), f"rollback to {target}")


def get_deployment(name: str, version: int | None = None) -> DeploymentRecord:
    return deployment_store().get_deployment(name, version)


def list_deployments() -> list[DeploymentRecord]:
    return deployment_store().list_deployments()


def deployment_history(name: str) -> list[DeploymentRecord]:
    return deployment_store().list_versions(name)


def deployment_counters(name: str) -> list[RouteCounter]:
    return deployment_store().get_counters(name)


def delete_deployment(name: str) -> None:
    deployment_store().delete_deployment(name)


def config_of(record: DeploymentRecord) -> DeploymentConfig:
    return DeploymentConfig.from_dict(record.config)


def _routes(
    main: str, canary: str | None, canary_weight: int, ab: str | None, split: int
) -> list[Route]:
    if canary and ab:
        raise InvalidParameterError("a deployment runs a canary or an A/B test, not both at once")
    if canary:
        if not 0 < canary_weight < 100:
            raise InvalidParameterError(
                f"--canary-weight is a percent between 1 and 99, got {canary_weight}"
            )
        return [Route("main", main, 100 - canary_weight), Route("canary", canary, canary_weight)]
    if ab:
        if not 0 < split < 100:
            raise InvalidParameterError(f"--split is a percent between 1 and 99, got {split}")
        return [Route("a", main, 100 - split), Route("b", ab, split)]
    return [Route("main", main, 100)]
