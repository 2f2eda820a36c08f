"""A uvicorn server in a daemon thread on 127.0.0.1: how tests, benchmarks and notebooks start
the team server or a serving app without a second process."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def uvicorn_in_thread(
    config: Any, *, name: str, start_timeout: float = 30.0, grace_s: float = 30.0
) -> Iterator[str]:
    """Run ``uvicorn.Server(config)`` until the block ends; yields ``http://127.0.0.1:<port>``."""
    import uvicorn

    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not start")
        time.sleep(0.005)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=grace_s)
