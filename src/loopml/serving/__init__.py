"""Serving: registered models as prediction services (MLflow ``/invocations`` and the Open
Inference Protocol), with opportunistic batching, signature checks and Prometheus metrics.

Names load on first use so that ``import loopml`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loopml.serving.app import AppOptions, ServedRoute, create_app
    from loopml.serving.config import DeploymentConfig
    from loopml.serving.deployments import (
        create_deployment,
        delete_deployment,
        deployment_counters,
        deployment_history,
        get_deployment,
        list_deployments,
        promote_deployment,
        rollback_deployment,
        update_deployment,
    )
    from loopml.serving.model import ServedModel, ServingOptions, load_served
    from loopml.serving.recorder import read_payloads
    from loopml.serving.run import ServeSpec, serve, serve_in_thread

_DEPLOYMENTS = (
    "create_deployment",
    "delete_deployment",
    "deployment_counters",
    "deployment_history",
    "get_deployment",
    "list_deployments",
    "promote_deployment",
    "rollback_deployment",
    "update_deployment",
)
_LAZY: dict[str, str] = {
    **dict.fromkeys(_DEPLOYMENTS, "deployments"),
    "AppOptions": "app",
    "DeploymentConfig": "config",
    "ServedRoute": "app",
    "ServeSpec": "run",
    "ServedModel": "model",
    "ServingOptions": "model",
    "create_app": "app",
    "load_served": "model",
    "read_payloads": "recorder",
    "serve": "run",
    "serve_in_thread": "run",
}

__all__ = [
    "AppOptions",
    "DeploymentConfig",
    "ServeSpec",
    "ServedModel",
    "ServedRoute",
    "ServingOptions",
    "create_app",
    "create_deployment",
    "delete_deployment",
    "deployment_counters",
    "deployment_history",
    "get_deployment",
    "list_deployments",
    "load_served",
    "promote_deployment",
    "read_payloads",
    "rollback_deployment",
    "serve",
    "serve_in_thread",
    "update_deployment",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'loopml.serving' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"loopml.serving.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(__all__) | set(globals()))
