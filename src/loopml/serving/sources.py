"""Where a serving app's lineup comes from, for hot reload: one model alias, or a deployment.

A fingerprint is one cheap read of the metadata store: the deployment's configuration version
and the version each alias (``@champion``, ``@latest``) points at now. Models are loaded by
their resolved ``models:/<name>/<version>`` URI, so what is loaded is what was resolved even if
the alias moves meanwhile, and a model that did not change is reused rather than reloaded.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from loopml.errors import InvalidStateError
from loopml.serving.config import DeploymentConfig
from loopml.serving.lineup import Lineup, ServedRoute
from loopml.serving.model import ServedModel, ServingOptions, load_served
from loopml.store.metadata.deployments_base import DeploymentStore
from loopml.uris import ModelURI, parse_uri

__all__ = ["TOKEN_ENV", "DeploymentSource", "ModelSource", "is_alias"]

log = logging.getLogger("loopml.serving")

TOKEN_ENV = "LOOPML_SERVING_TOKEN"  # noqa: S105 - the name of a variable, not a secret


def is_alias(uri: str) -> bool:
    """Whether ``uri`` names a model by alias (so what it means can change while serving)."""
    if not uri.startswith("models:/"):
        return False
    parsed = parse_uri(uri)
    return isinstance(parsed, ModelURI) and parsed.alias is not None


@dataclass(frozen=True)
class _Resolved:
    uri: str  # what to load: the pinned version, or the URI itself when it cannot move
    key: Hashable  # identity of the loaded model (with its serving options)
    version: str | None  # the registry version, for models:/ URIs


def _resolve(uri: str, options: ServingOptions) -> _Resolved:
    if uri.startswith("models:/"):
        from loopml.registry import get_model_version

        mv = get_model_version(uri)
        pinned = f"models:/{mv.name}/{mv.version}"
        return _Resolved(pinned, (pinned, options), str(mv.version))
    return _Resolved(uri, (uri, options), None)


def _alias_targets(uris: list[str]) -> tuple[tuple[str, str], ...]:
    from loopml.registry import get_model_version

    return tuple(sorted((u, str(get_model_version(u).version)) for u in set(uris) if is_alias(u)))


def _get(
    loaded: dict[Hashable, ServedModel],
    fresh: dict[Hashable, ServedModel],
    resolved: _Resolved,
    make: Callable[[], ServedModel],
) -> ServedModel:
    served = fresh.get(resolved.key) or loaded.get(resolved.key)
    if served is None:
        served = make()
    fresh[resolved.key] = served
    return served


class ModelSource:
    """``loopml serve models:/churn@champion``: follows where the alias points."""

    def __init__(
        self,
        uri: str,
        name: str | None = None,
        options: ServingOptions | None = None,
        token: str | None = None,
    ) -> None:
        self.uri = uri
        self.name = name
        self.options = options or ServingOptions()
        self.token = token

    def fingerprint(self) -> Hashable:
        return _alias_targets([self.uri])

    def load(self, loaded: dict[Hashable, ServedModel]) -> Lineup:
        resolved = _resolve(self.uri, self.options)
        models: dict[Hashable, ServedModel] = {}
        served = _get(
            loaded, models, resolved, lambda: load_served(resolved.uri, self.name, self.options)
        )
        route = ServedRoute(served.name, served, 100, self.uri)
        fingerprint = ((self.uri, resolved.version),) if is_alias(self.uri) else ()
        return Lineup([route], token=self.token, fingerprint=fingerprint, models=models)


class DeploymentSource:
    """``loopml deploy serve NAME``: follows the deployment's configuration and its aliases.

    ``on_config`` is told each configuration once its lineup serves (the recorder uses it to
    switch payload logging)."""

    def __init__(
        self,
        name: str,
        store: DeploymentStore,
        on_config: Callable[[DeploymentConfig], None] | None = None,
    ) -> None:
        self.name = name
        self.store = store
        self.on_config = on_config
        self.last_config: DeploymentConfig | None = None  # of the last lineup loaded

    def fingerprint(self) -> Hashable:
        record = self.store.get_deployment(self.name)
        config = DeploymentConfig.from_dict(record.config)
        return (record.version, _alias_targets(_uris(config)))

    def load(self, loaded: dict[Hashable, ServedModel]) -> Lineup:
        record = self.store.get_deployment(self.name)
        config = DeploymentConfig.from_dict(record.config)
        token = os.environ.get(TOKEN_ENV) or None
        if config.auth and token is None:
            raise InvalidStateError(
                f"deployment {self.name!r} requires auth: set {TOKEN_ENV} to the bearer token "
                "clients send"
            )
        b = config.batching
        options = ServingOptions(b.enabled, b.max_batch_size, b.max_queue)
        models: dict[Hashable, ServedModel] = {}
        targets: list[tuple[str, str]] = []

        def place(uri: str) -> ServedModel:
            resolved = _resolve(uri, options)
            if is_alias(uri) and resolved.version is not None:
                targets.append((uri, resolved.version))
            return _get(loaded, models, resolved, lambda: load_served(resolved.uri, None, options))

        routes = [ServedRoute(r.name, place(r.model), r.weight, r.model) for r in config.routes]
        shadows = [ServedRoute("shadow", place(uri), 0, uri) for uri in config.shadows]
        on_config = self.on_config
        self.last_config = config
        return Lineup(
            routes,
            shadows,
            config.sticky_header,
            token if config.auth else None,
            fingerprint=(record.version, tuple(sorted(set(targets)))),
            models=models,
            on_switch=(lambda: on_config(config)) if on_config is not None else None,
        )


def _uris(config: DeploymentConfig) -> list[str]:
    return [r.model for r in config.routes] + list(config.shadows)
