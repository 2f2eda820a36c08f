"""``@pipeline``: a function whose body wires steps into a DAG; calling it runs the DAG.

The body runs once per build with real parameter values and step calls that return handles,
so plain Python (loops over a list parameter, helper functions) shapes the graph.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from loopml.errors import InvalidParameterError
from loopml.pipeline.graph import Graph, Handle, building, current_builder
from loopml.pipeline.params import Param, params_of, resolve_params

if TYPE_CHECKING:
    from loopml.pipeline.executors.base import Executor
    from loopml.pipeline.records import PipelineRun

__all__ = ["Pipeline", "pipeline"]


class Pipeline:
    """A named pipeline: ``.params`` (with defaults), ``.build(params)`` and ``.graph``."""

    def __init__(self, fn: Callable[..., Any], *, name: str | None = None) -> None:
        if not callable(fn):
            raise InvalidParameterError(f"@pipeline decorates a function, got {fn!r}")
        self.fn = fn
        self.name: str = name or str(getattr(fn, "__name__", "pipeline"))
        self.signature = inspect.signature(fn)
        self.ref: str | None = None  # "path/file.py:attr" when loaded by reference
        self._params: dict[str, Param] | None = None
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        return f"<pipeline {self.name}>"

    @property
    def params(self) -> dict[str, Param]:
        if self._params is None:
            self._params = params_of(self.fn)
        return self._params

    def resolve_params(
        self, params: Mapping[str, Any] | None = None, config: str | Path | None = None
    ) -> dict[str, Any]:
        return resolve_params(self.name, self.params, params, config)

    def build(self, params: Mapping[str, Any] | None = None) -> Graph:
        """Run the body with ``params`` (validated, defaults filled in) and return the DAG."""
        values = self.resolve_params(params)
        graph = Graph(self.name)
        if current_builder() is not None:
            raise InvalidParameterError(
                f"pipeline {self.name!r} was called inside another pipeline's body; call its "
                "steps there instead"
            )
        with building(graph):
            result = self.fn(**values)
        if result is not None and not isinstance(result, Handle | tuple):
            raise InvalidParameterError(
                f"pipeline {self.name!r} returned {type(result).__name__}: a pipeline body "
                "wires steps and returns nothing (or step outputs)"
            )
        if not graph.nodes:
            raise InvalidParameterError(
                f"pipeline {self.name!r} calls no step: decorate its functions with @step"
            )
        graph.topological()  # a cycle fails here, before anything runs
        return graph

    @property
    def graph(self) -> Graph:
        """The DAG with default parameters (for inspection and export)."""
        return self.build()

    def default_ref(self) -> str | None:
        """Where to load this pipeline from again (for resume and other processes)."""
        if self.ref:
            return self.ref
        module = inspect.getmodule(self.fn)
        file = getattr(module, "__file__", None)
        attr = getattr(self.fn, "__name__", None)
        if not file or not attr or "<locals>" in getattr(self.fn, "__qualname__", ""):
            return None
        return f"{os.path.abspath(file)}:{attr}"  # noqa: PTH100

    def run(
        self,
        params: Mapping[str, Any] | None = None,
        *,
        executor: str | Executor = "local",
        cache: bool = True,
        config: str | Path | None = None,
        experiment: str | None = None,
    ) -> PipelineRun:
        from loopml.pipeline.runner import run_pipeline

        return run_pipeline(
            self, params, executor=executor, cache=cache, config=config, experiment=experiment
        )

    def __call__(self, *args: Any, **kwargs: Any) -> PipelineRun:
        try:
            bound = self.signature.bind_partial(*args, **kwargs)
        except TypeError as exc:
            raise InvalidParameterError(f"pipeline {self.name!r}: {exc}") from None
        return self.run(dict(bound.arguments))


@overload
def pipeline(fn: Callable[..., Any]) -> Pipeline: ...


@overload
def pipeline(fn: None = None, *, name: str | None = None) -> Callable[..., Pipeline]: ...


def pipeline(fn: Callable[..., Any] | None = None, *, name: str | None = None) -> Any:
    """Make ``fn`` a pipeline: ``@pipeline`` or ``@pipeline(name="training")``.

    Calling the result runs it on the local executor and returns a ``PipelineRun``; use
    ``loopml.pipeline.run_pipeline`` for another executor or without the cache.
    """

    def wrap(f: Callable[..., Any]) -> Pipeline:
        return Pipeline(f, name=name)

    if fn is not None:
        return wrap(fn)
    return wrap
