"""``loopml deploy serve``: a deployment's routes and shadows side by side in one process.

Every model version of the current configuration is loaded and smoke-tested before the port
opens; requests are routed by weight (or by the sticky header's hash), shadows get copies off
the request path, and a :class:`Recorder` logs payloads (to the object store, indexed in the
metadata store) and per-route counters. A change of the configuration or of an alias it names
is picked up while serving and swapped in without a failed request (``reload.py``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson

from loopml.serving.app import AppOptions, create_app
from loopml.serving.config import DeploymentConfig
from loopml.serving.recorder import Recorder
from loopml.serving.run import uvicorn_kwargs
from loopml.serving.sources import TOKEN_ENV, DeploymentSource

__all__ = ["TOKEN_ENV", "build_deployment_app", "serve_deployment"]

SPEC_ENV = "LOOPML_DEPLOYMENT_SPEC"


def build_deployment_app(
    name: str,
    *,
    project: str | None = None,
    flush_interval_s: float = 2.0,
    reload_interval_s: float = 1.0,
) -> Any:
    """The app for deployment ``name``'s current configuration (models loaded and tested).

    Every ``reload_interval_s`` (0: never) it checks the deployment's configuration version and
    its aliases, and hot-swaps to a new lineup once that passed its smoke test."""
    if project:
        from loopml.tracking.context import configure

        configure(Path(project))
    from loopml.serving.deployments import deployment_store
    from loopml.tracking.context import get_context

    store = deployment_store()
    recorder: Recorder | None = None

    def on_config(config: DeploymentConfig) -> None:
        if recorder is not None:
            recorder.set_logging(config.payload_logging)

    source = DeploymentSource(name, store, on_config)
    lineup = source.load({})
    for route in lineup.routes:  # fail before listening, with the model's own error
        route.served.smoke_test()
    config = source.last_config
    assert config is not None
    recorder = Recorder(
        name,
        store,
        get_context().objects,
        interval_s=flush_interval_s,
        logging=config.payload_logging,
    )
    app_options = AppOptions(
        name=name,
        sticky_header=lineup.sticky_header,
        token=lineup.token,
        reload_interval_s=reload_interval_s,
    )
    return create_app(lineup, app_options, observer=recorder, source=source)


def app_from_env() -> Any:
    """The app factory a worker process calls (``--workers N``)."""
    spec = orjson.loads(os.environ[SPEC_ENV])
    return build_deployment_app(
        spec["name"], project=spec["project"], reload_interval_s=spec.get("reload_interval_s", 1.0)
    )


def serve_deployment(
    name: str,
    *,
    host: str,
    port: int,
    workers: int | None = None,
    project: str | None = None,
    reload_interval_s: float = 1.0,
) -> None:
    """Serve deployment ``name`` in the foreground until SIGINT/SIGTERM; ``workers`` defaults
    to the configuration's. Accepted sockets get TCP_NODELAY (see ``run.py``)."""
    import uvicorn

    from loopml.serving.deployments import get_deployment

    count = workers or DeploymentConfig.from_dict(get_deployment(name).config).workers
    if count > 1:
        spec = {"name": name, "project": project, "reload_interval_s": reload_interval_s}
        os.environ[SPEC_ENV] = orjson.dumps(spec).decode()
        uvicorn.run(
            "loopml.serving.deploy_app:app_from_env",
            factory=True,
            workers=count,
            **uvicorn_kwargs(host, port),
        )
        return
    app = build_deployment_app(name, project=project, reload_interval_s=reload_interval_s)
    uvicorn.Server(uvicorn.Config(app, **uvicorn_kwargs(host, port))).run()
