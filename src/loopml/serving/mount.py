"""Deployments mounted in ``loopml server``: each at ``/serve/<name>`` beside the REST API.

``LOOPML_SERVER_DEPLOYMENTS=churn-prod,fraud loopml server`` serves those deployments from the
project's stores in the server's own process (and in each of its workers), with everything
``loopml deploy serve`` does: traffic policies, shadows, payload log, hot reload. A mounted
app's startup and shutdown (smoke tests, the payload log's last flush) run inside the server's.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

__all__ = ["DEPLOYMENTS_ENV", "PREFIX", "deployments_from_env", "mount_deployments"]

DEPLOYMENTS_ENV = "LOOPML_SERVER_DEPLOYMENTS"
PREFIX = "/serve"


def deployments_from_env() -> list[str]:
    """The deployment names in ``LOOPML_SERVER_DEPLOYMENTS`` (comma-separated)."""
    return [n.strip() for n in os.environ.get(DEPLOYMENTS_ENV, "").split(",") if n.strip()]


def mount_deployments(
    app: Any, names: Sequence[str]
) -> Callable[[], AbstractAsyncContextManager[None]]:
    """Mount each deployment's app on ``app`` at ``/serve/<name>``; returns the context that
    runs their lifespans (enter it inside the host app's lifespan)."""
    subs = []
    if names:
        from loopml.serving.deploy_app import build_deployment_app

        for name in dict.fromkeys(names):
            sub = build_deployment_app(name)
            app.mount(f"{PREFIX}/{name}", sub)
            subs.append(sub)

    @contextlib.asynccontextmanager
    async def running() -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for sub in subs:
                await stack.enter_async_context(sub.router.lifespan_context(sub))
            yield

    return running
