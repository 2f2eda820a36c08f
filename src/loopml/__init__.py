"""loopml: the whole MLOps loop in one install.

The names here are the ones a user types. They load on first use (PEP 562), so that
``import loopml`` stays fast and pulls in no database driver, pandas or scikit-learn.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from loopml._version import __version__
from loopml.errors import LoopmlError

if TYPE_CHECKING:
    from loopml.data.provenance import log_input
    from loopml.models import PythonModel, load_model, log_model
    from loopml.pipeline.definition import pipeline
    from loopml.pipeline.register import register_if
    from loopml.pipeline.runner import run_pipeline
    from loopml.pipeline.steps import step
    from loopml.pipeline.tune import tune
    from loopml.registry import (
        approve_promotion,
        delete_alias,
        get_model_version,
        get_registered_model,
        promote,
        register_model,
        search_models,
        set_alias,
        set_approval_policy,
    )
    from loopml.tracking.client import TrackingClient
    from loopml.tracking.context import configure
    from loopml.tracking.fluent import (
        ActiveRun,
        active_run,
        download_artifacts,
        end_run,
        flush,
        get_metric_history,
        get_run,
        last_active_run,
        load_table,
        log_artifact,
        log_artifacts,
        log_batch,
        log_dict,
        log_figure,
        log_metric,
        log_metrics,
        log_param,
        log_params,
        log_table,
        log_text,
        search_runs,
        set_experiment,
        set_tag,
        set_tags,
        start_run,
    )

_FLUENT = (
    "ActiveRun",
    "active_run",
    "download_artifacts",
    "end_run",
    "flush",
    "get_metric_history",
    "get_run",
    "last_active_run",
    "load_table",
    "log_artifact",
    "log_artifacts",
    "log_batch",
    "log_dict",
    "log_figure",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_table",
    "log_text",
    "search_runs",
    "set_experiment",
    "set_tag",
    "set_tags",
    "start_run",
)

_LAZY: dict[str, str] = dict.fromkeys(_FLUENT, "loopml.tracking.fluent")
_LAZY["configure"] = "loopml.tracking.context"
_LAZY["TrackingClient"] = "loopml.tracking.client"
_REGISTRY = (
    "approve_promotion",
    "delete_alias",
    "get_model_version",
    "get_registered_model",
    "promote",
    "register_model",
    "search_models",
    "set_alias",
    "set_approval_policy",
)
_LAZY.update(dict.fromkeys(_REGISTRY, "loopml.registry"))
_LAZY["log_input"] = "loopml.data.provenance"
_LAZY.update(dict.fromkeys(("PythonModel", "load_model", "log_model"), "loopml.models"))
_SUBMODULES = {"sklearn", "errors", "uris", "config", "tracking", "store", "data"}
_SUBMODULES.add("registry")
_SUBMODULES.add("models")
_SUBMODULES.add("monitoring")
_LAZY.update(
    {
        "step": "loopml.pipeline.steps",
        "pipeline": "loopml.pipeline.definition",
        "register_if": "loopml.pipeline.register",
        "run_pipeline": "loopml.pipeline.runner",
    }
)

__all__ = [
    "ActiveRun",
    "LoopmlError",
    "TrackingClient",
    "__version__",
    "active_run",
    "configure",
    "download_artifacts",
    "end_run",
    "flush",
    "get_metric_history",
    "get_run",
    "last_active_run",
    "load_table",
    "log_artifact",
    "log_artifacts",
    "log_batch",
    "log_dict",
    "log_figure",
    "log_input",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_table",
    "log_text",
    "search_runs",
    "set_experiment",
    "set_tag",
    "set_tags",
    "start_run",
]
__all__ += [  # the registry's names (loopml.registry)
    "approve_promotion",
    "delete_alias",
    "get_model_version",
    "get_registered_model",
    "promote",
    "register_model",
    "search_models",
    "set_alias",
    "set_approval_policy",
]


__all__ += ["PythonModel", "load_model", "log_model"]  # loopml.models
__all__ += ["pipeline", "register_if", "run_pipeline", "step"]  # loopml.pipeline
__all__ += ["tune"]  # loopml.pipeline.tune
_LAZY["tune"] = "loopml.pipeline.tune"


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"loopml.{name}")
    raise AttributeError(f"module 'loopml' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(__all__) | _SUBMODULES)
