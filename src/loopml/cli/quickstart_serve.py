"""The demo's deployment, served in the background on 127.0.0.1 while the loop goes on.

``churn-prod`` serves ``models:/churn@champion``. The app polls the deployment and the alias,
so when the controller adds a canary route, or moves ``champion`` and drops the canary, the
app loads the new lineup, smoke-tests it and switches without failing a request.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from loopml.cli.quickstart_stages import PartMissingError

__all__ = ["ensure_deployment", "serving"]


def _deployments() -> Any:
    try:
        from loopml.serving import deployments
    except ImportError as exc:  # pragma: no cover - serving ships with loopml
        raise PartMissingError(f"loopml.serving is not available ({exc})") from None
    return deployments


def ensure_deployment(name: str, model_uri: str) -> Any:
    """Create ``name`` serving ``model_uri`` alone, or reset it to that (a rerun of the demo
    starts from one route, whatever an earlier run left)."""
    from loopml.errors import NotFoundError

    deployments = _deployments()
    try:
        deployments.get_deployment(name)
    except NotFoundError:
        return deployments.create_deployment(name, model_uri, max_batch_size=64)
    return deployments.update_deployment(name, model=model_uri, canary_weight=0)


@contextmanager
def serving(name: str, *, reload_interval_s: float = 0.5) -> Iterator[str]:
    """Serve deployment ``name`` in a daemon thread until the block ends; yields its URL."""
    from loopml.serving.deploy_app import build_deployment_app
    from loopml.serving.run import serve_in_thread

    app = build_deployment_app(name, flush_interval_s=0.5, reload_interval_s=reload_interval_s)
    with serve_in_thread(app) as url:
        yield url
