"""Pipelines: ``@step`` functions wired by a ``@pipeline`` into a DAG whose steps are cached
by content, run on an executor (in-process, process pool, Ray) and tracked with lineage.

Names load on first use so that ``import loopml.pipeline`` stays light. ``loopml.pipeline``
is both this package and the ``@pipeline`` decorator (importing the package replaces the lazy
name on ``loopml``), so the package module itself is callable as the decorator.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loopml.pipeline.definition import Pipeline, pipeline
    from loopml.pipeline.executors.base import (
        Executor,
        Resources,
        StepTask,
        StepTimeoutError,
        get_executor,
        run_task,
    )
    from loopml.pipeline.graph import Graph, Handle, Node
    from loopml.pipeline.lineage import LineageGraph
    from loopml.pipeline.loader import load_pipeline
    from loopml.pipeline.materializers import Materializer, register_materializer
    from loopml.pipeline.records import PipelineRun, StepRun
    from loopml.pipeline.register import register_if
    from loopml.pipeline.runner import PipelineWarning, resume, run_pipeline
    from loopml.pipeline.runs import (
        CacheExplanation,
        explain_cache,
        get_pipeline_run,
        list_pipeline_runs,
    )
    from loopml.pipeline.steps import Step, step

_LAZY: dict[str, str] = {
    "CacheExplanation": "loopml.pipeline.runs",
    "Executor": "loopml.pipeline.executors.base",
    "Graph": "loopml.pipeline.graph",
    "Handle": "loopml.pipeline.graph",
    "LineageGraph": "loopml.pipeline.lineage",
    "Materializer": "loopml.pipeline.materializers",
    "Node": "loopml.pipeline.graph",
    "Pipeline": "loopml.pipeline.definition",
    "PipelineRun": "loopml.pipeline.records",
    "PipelineWarning": "loopml.pipeline.runner",
    "Resources": "loopml.pipeline.executors.base",
    "Step": "loopml.pipeline.steps",
    "StepRun": "loopml.pipeline.records",
    "StepTask": "loopml.pipeline.executors.base",
    "StepTimeoutError": "loopml.pipeline.executors.base",
    "explain_cache": "loopml.pipeline.runs",
    "get_executor": "loopml.pipeline.executors.base",
    "get_pipeline_run": "loopml.pipeline.runs",
    "list_pipeline_runs": "loopml.pipeline.runs",
    "load_pipeline": "loopml.pipeline.loader",
    "pipeline": "loopml.pipeline.definition",
    "register_if": "loopml.pipeline.register",
    "register_materializer": "loopml.pipeline.materializers",
    "resume": "loopml.pipeline.runner",
    "run_pipeline": "loopml.pipeline.runner",
    "run_task": "loopml.pipeline.executors.base",
    "step": "loopml.pipeline.steps",
}

__all__ = [
    "CacheExplanation",
    "Executor",
    "Graph",
    "Handle",
    "LineageGraph",
    "Materializer",
    "Node",
    "Pipeline",
    "PipelineRun",
    "PipelineWarning",
    "Resources",
    "Step",
    "StepRun",
    "StepTask",
    "StepTimeoutError",
    "explain_cache",
    "get_executor",
    "get_pipeline_run",
    "list_pipeline_runs",
    "load_pipeline",
    "pipeline",
    "register_if",
    "register_materializer",
    "resume",
    "run_pipeline",
    "run_task",
    "step",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'loopml.pipeline' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(__all__) | set(globals()))


class _CallablePackage(types.ModuleType):
    """``@loopml.pipeline`` and ``@loopml.pipeline(name=...)`` work on the package itself."""

    def __call__(self, fn: Any = None, *, name: str | None = None) -> Any:
        from loopml.pipeline.definition import pipeline as decorator

        return decorator(fn, name=name)


sys.modules[__name__].__class__ = _CallablePackage
