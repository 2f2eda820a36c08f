"""``loopml deploy serve``: a deployment's routes and shadows side by side in one process.

Every model version of the current configuration is loaded and smoke-tested before the port
opens; requests are routed by weight (or by the sticky header's hash), shadows get copies off
the request path, and a :class:`Recorder` logs payloads and per-route counters.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson

from loopml.serving.app import AppOptions, ServedRoute, create_app
from loopml.serving.config import DeploymentConfig
from loopml.serving.model import ServingOptions, load_served
from loopml.serving.recorder import Recorder
from loopml.serving.run import uvicorn_kwargs

__all__ = ["build_deployment_app", "payload_folder", "serve_deployment"]

SPEC_ENV = "LOOPML_DEPLOYMENT_SPEC"
TOKEN_ENV = "LOOPML_SERVING_TOKEN"  # noqa: S105 - the name of a variable, not a secret


def payload_folder(deployment: str) -> Path:
    """Where a deployment's payload log lives: ``<project>/.loopml/payloads/<deployment>``."""
    from loopml.tracking.context import get_context

    return get_context().settings.state_dir / "payloads" / deployment


def build_deployment_app(
    name: str, *, project: str | None = None, flush_interval_s: float = 1.0
) -> Any:
    """The app for deployment ``name``'s current configuration (models loaded and tested)."""
    if project:
        from loopml.tracking.context import configure

        configure(Path(project))
    from loopml.errors import InvalidStateError
    from loopml.serving.deployments import deployment_store

    store = deployment_store()
    config = DeploymentConfig.from_dict(store.get_deployment(name).config)
    b = config.batching
    options = ServingOptions(b.enabled, b.max_batch_size, b.max_queue)
    routes = []
    for route in config.routes:
        served = load_served(route.model, options=options)
        served.smoke_test()
        routes.append(ServedRoute(route.name, served, route.weight, route.model))
    shadows = [
        ServedRoute("shadow", load_served(uri, options=options), 0, uri) for uri in config.shadows
    ]
    token = os.environ.get(TOKEN_ENV) or None
    if config.auth and token is None:
        raise InvalidStateError(
            f"deployment {name!r} requires auth: set {TOKEN_ENV} to the bearer token clients send"
        )
    recorder = Recorder(
        name,
        store,
        payload_folder(name) if config.payload_logging else None,
        interval_s=flush_interval_s,
    )
    app_options = AppOptions(
        name=name, sticky_header=config.sticky_header, token=token if config.auth else None
    )
    return create_app(routes, app_options, shadows=shadows, observer=recorder)


def app_from_env() -> Any:
    """The app factory a worker process calls (``--workers N``)."""
    spec = orjson.loads(os.environ[SPEC_ENV])
    return build_deployment_app(spec["name"], project=spec["project"])


def serve_deployment(
    name: str, *, host: str, port: int, workers: int | None = None, project: str | None = None
) -> None:
    """Serve deployment ``name`` in the foreground until SIGINT/SIGTERM; ``workers`` defaults
    to the configuration's. Accepted sockets get TCP_NODELAY (see ``run.py``)."""
    import uvicorn

    from loopml.serving.deployments import get_deployment

    count = workers or DeploymentConfig.from_dict(get_deployment(name).config).workers
    if count > 1:
        os.environ[SPEC_ENV] = orjson.dumps({"name": name, "project": project}).decode()
        uvicorn.run(
            "loopml.serving.deploy_app:app_from_env",
            factory=True,
            workers=count,
            **uvicorn_kwargs(host, port),
        )
        return
    app = build_deployment_app(name, project=project)
    uvicorn.Server(uvicorn.Config(app, **uvicorn_kwargs(host, port))).run()
