"""Running a serving app under uvicorn: in the foreground (``loopml serve``) or in a thread.

With ``workers > 1`` each worker process loads the model itself from the spec in
``LOOPML_SERVING_SPEC`` (and each polls the alias it serves on its own); accepted sockets get ``TCP_NODELAY`` (the server's protocol classes),
since uvicorn's shared listening socket skips it and keep-alive responses then wait ~40 ms on
the client's delayed ACK (DESIGN.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

from loopml.serving.app import AppOptions, create_app
from loopml.serving.model import ServingOptions, load_served
from loopml.serving.sources import ModelSource, is_alias

__all__ = ["ServeSpec", "app_from_env", "serve", "serve_in_thread"]

SPEC_ENV = "LOOPML_SERVING_SPEC"
GRACE_S = 30


@dataclass(frozen=True)
class ServeSpec:
    """Everything a worker process needs to build the same app as its parent."""

    uri: str
    name: str | None = None
    project: str | None = None
    batching: bool = True
    max_batch_size: int = 256
    max_queue: int = 1024
    method: str | None = None
    max_body_bytes: int = 16 << 20
    token: str | None = None
    reload_interval_s: float = 1.0  # how often an alias (models:/x@champion) is re-checked

    def options(self) -> ServingOptions:
        return ServingOptions(self.batching, self.max_batch_size, self.max_queue, self.method)

    def app_options(self) -> AppOptions:
        return AppOptions(
            max_body_bytes=self.max_body_bytes,
            token=self.token,
            reload_interval_s=self.reload_interval_s,
        )


def build_app(spec: ServeSpec, *, smoke_test: bool = False) -> Any:
    """The app for ``spec`` (with ``smoke_test``, tested before it is returned, so a broken
    model fails before the port opens). A model named by alias is followed: when the alias
    moves, the new version is loaded, smoke-tested and swapped in while serving."""
    if spec.project:
        from loopml.tracking.context import configure

        configure(Path(spec.project))
    if is_alias(spec.uri):
        source = ModelSource(spec.uri, spec.name, spec.options(), spec.token)
        lineup = source.load({})
        if smoke_test:
            lineup.routes[0].served.smoke_test()
        return create_app(lineup, spec.app_options(), source=source)
    model = load_served(spec.uri, spec.name, spec.options())
    if smoke_test:
        model.smoke_test()
    return create_app([model], spec.app_options())


def app_from_env() -> Any:
    """The app factory a worker process calls (``--workers N``)."""
    return build_app(ServeSpec(**orjson.loads(os.environ[SPEC_ENV])))


def uvicorn_kwargs(host: str, port: int) -> dict[str, Any]:
    from loopml.server.run import NoDelayHttpTools

    return {
        "host": host,
        "port": port,
        "http": NoDelayHttpTools,
        "access_log": False,
        "log_level": "warning",
        "timeout_graceful_shutdown": GRACE_S,
    }


def serve(spec: ServeSpec, *, host: str, port: int, workers: int = 1) -> None:
    """Serve in the foreground until SIGINT/SIGTERM."""
    import uvicorn

    if workers > 1:
        os.environ[SPEC_ENV] = orjson.dumps(asdict(spec)).decode()
        uvicorn.run(
            "loopml.serving.run:app_from_env",
            factory=True,
            workers=workers,
            **uvicorn_kwargs(host, port),
        )
        return
    app = build_app(spec, smoke_test=True)  # fail before listening, with the model's own error
    uvicorn.Server(uvicorn.Config(app, **uvicorn_kwargs(host, port))).run()


@contextmanager
def serve_in_thread(app: Any) -> Iterator[str]:
    """``app`` on a free port of 127.0.0.1 in a daemon thread; yields its base URL."""
    import uvicorn

    from loopml.server.threaded import uvicorn_in_thread

    config = uvicorn.Config(app, lifespan="on", **uvicorn_kwargs("127.0.0.1", 0))
    with uvicorn_in_thread(config, name="loopml-serving", grace_s=GRACE_S) as url:
        yield url
