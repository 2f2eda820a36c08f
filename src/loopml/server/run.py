"""Running the app under uvicorn: ``loopml server`` (foreground) and a thread (tests, benches).

Accepted sockets get ``TCP_NODELAY``: with several workers uvicorn serves from a shared
listening socket and skips it, so each keep-alive response waited ~40 ms on the client's
delayed ACK (DESIGN.md). Shutdown is graceful: on SIGINT/SIGTERM uvicorn stops accepting and
lets in-flight requests finish (up to ``GRACE_S``).
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

import orjson
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from loopml.server.config import ServerConfig
from loopml.server.threaded import uvicorn_in_thread

CONFIG_ENV = "LOOPML_SERVER_CONFIG"  # how worker processes receive the parent's config
GRACE_S = 30


def _nodelay(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayHttpTools(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        _nodelay(transport)
        super().connection_made(transport)


class NoDelayH11(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        _nodelay(transport)
        super().connection_made(transport)


def _http_protocol() -> type[asyncio.Protocol]:
    try:
        import httptools  # noqa: F401
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        return NoDelayH11
    return NoDelayHttpTools


def app_from_env() -> Any:
    """The app factory a worker process calls (``--workers N``)."""
    from loopml.server.app import create_app

    return create_app(ServerConfig(**orjson.loads(os.environ[CONFIG_ENV])))


def _uvicorn_config(config: ServerConfig, app: Any, **extra: Any) -> Any:
    import uvicorn

    return uvicorn.Config(
        app,
        host=config.host,
        port=config.port,
        http=_http_protocol(),
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=GRACE_S,
        **extra,
    )


def run_server(config: ServerConfig) -> None:
    """Serve in the foreground until SIGINT/SIGTERM."""
    import uvicorn

    config.check()
    if config.workers > 1:
        os.environ[CONFIG_ENV] = orjson.dumps(asdict(config)).decode()
        ucfg = _uvicorn_config(
            config, "loopml.server.run:app_from_env", factory=True, workers=config.workers
        )
        uvicorn.Server(ucfg)  # validates the config before forking
        uvicorn.run(
            "loopml.server.run:app_from_env",
            factory=True,
            workers=config.workers,
            host=config.host,
            port=config.port,
            http=_http_protocol(),
            access_log=False,
            log_level="warning",
            timeout_graceful_shutdown=GRACE_S,
        )
        return
    from loopml.server.app import create_app

    uvicorn.Server(_uvicorn_config(config, create_app(config))).run()


@contextmanager
def serve_in_thread(config: ServerConfig) -> Iterator[str]:
    """A server on a free port of 127.0.0.1 in a daemon thread; yields its base URL."""
    from loopml.server.app import create_app

    free = ServerConfig(**{**asdict(config), "host": "127.0.0.1", "port": 0})
    config_ = _uvicorn_config(free, create_app(free), lifespan="on")
    with uvicorn_in_thread(config_, name="loopml-server", start_timeout=20, grace_s=GRACE_S) as url:
        yield url
