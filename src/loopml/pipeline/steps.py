"""``@step``: a typed function that a pipeline wires, caches and runs on an executor.

Called inside a ``@pipeline`` body a step records a node and returns handles; called anywhere
else it is the plain function, so a step can be unit-tested and debugged like any other.
"""

from __future__ import annotations

import ast
import functools
import inspect
import re
import typing
from collections.abc import Callable
from typing import Any, TypeVar, overload

from loopml.errors import InvalidParameterError
from loopml.pipeline.executors.base import Resources
from loopml.pipeline.graph import Handle, InputRef, current_builder

__all__ = ["Step", "step"]

F = TypeVar("F", bound=Callable[..., Any])
_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,200}$")
_UNKNOWN = object()


class Step:
    """A function plus how to run it: retries, timeout, cache and resources."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        retries: int = 0,
        timeout: float | None = None,
        cache: bool = True,
        cpus: float = 1.0,
        memory_mb: int | None = None,
        gpus: float = 0.0,
    ) -> None:
        if not callable(fn):
            raise InvalidParameterError(f"@step decorates a function, got {fn!r}")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise InvalidParameterError(f"retries must be a whole number >= 0, got {retries!r}")
        if timeout is not None and (isinstance(timeout, bool) or not timeout > 0):
            raise InvalidParameterError(
                f"timeout must be a positive number of seconds, got {timeout!r}"
            )
        self.fn = fn
        derived = re.sub(r"[^A-Za-z0-9_.\-]", "_", str(getattr(fn, "__name__", "step")))
        self.name: str = name or derived[:200] or "step"
        if not _NAME.match(self.name):
            raise InvalidParameterError(
                f"step name {self.name!r} must be 1-200 letters, digits, '_', '-' or '.'",
                step=self.name,
            )
        self.retries = retries
        self.timeout = float(timeout) if timeout is not None else None
        self.cache = bool(cache)
        self.resources = Resources(float(cpus), memory_mb, float(gpus))
        self.signature = inspect.signature(fn)
        self.n_outputs = _count_outputs(fn)
        self._hints: Any = _UNKNOWN
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        return f"<step {self.name}>"

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["_hints"]  # evaluated type hints may hold unpicklable objects
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        # The sentinel is this process's object: the unpickled one would never match it.
        self.__dict__.update(state)
        self._hints = _UNKNOWN

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        graph = current_builder()
        if graph is None:
            return self.fn(*args, **kwargs)
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise InvalidParameterError(f"step {self.name!r}: {exc}", step=self.name) from None
        bound.apply_defaults()
        inputs: dict[str, Any] = {}
        for arg, value in bound.arguments.items():
            kind = self.signature.parameters[arg].kind
            if kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
                raise InvalidParameterError(
                    f"step {self.name!r} takes *args/**kwargs, which a pipeline cannot key "
                    "its cache on: name each argument",
                    step=self.name,
                )
            if isinstance(value, Handle):
                inputs[arg] = InputRef(value.node, value.index)
            elif isinstance(value, tuple) and value and all(isinstance(v, Handle) for v in value):
                raise InvalidParameterError(
                    f"argument {arg!r} of step {self.name!r} is a tuple of step outputs: "
                    "unpack it (a, b = step(...)) and pass each output on its own",
                    step=self.name,
                )
            else:
                _check_no_handles(self.name, arg, value)
                inputs[arg] = value
        node = graph.add(self, inputs)
        return graph.handles(node)

    # -- types ------------------------------------------------------------------------------
    def output_types(self) -> list[Any] | None:
        """The declared type of each output, or None when there is nothing to check against."""
        if self._hints is _UNKNOWN:
            self._hints = _output_types(self.fn, self.n_outputs)
        return typing.cast("list[Any] | None", self._hints)


def _check_no_handles(step_name: str, arg: str, value: Any, depth: int = 0) -> None:
    if depth > 3:
        return
    items: list[Any] = []
    if isinstance(value, list | tuple | set):
        items = list(value)
    elif isinstance(value, dict):
        items = list(value.values())
    for item in items:
        if isinstance(item, Handle):
            raise InvalidParameterError(
                f"argument {arg!r} of step {step_name!r} holds a step output inside a "
                "container; pass step outputs directly as arguments",
                step=step_name,
            )
        _check_no_handles(step_name, arg, item, depth + 1)


def _count_outputs(fn: Callable[..., Any]) -> int:
    """How many outputs ``-> tuple[A, B]`` declares (1 for anything else), without
    evaluating the annotation (that could import pandas just to count)."""
    ann = inspect.signature(fn).return_annotation
    if ann is inspect.Signature.empty:
        return 1
    if isinstance(ann, str):
        try:
            expr = ast.parse(ann, mode="eval").body
        except SyntaxError:
            return 1
        if isinstance(expr, ast.Subscript):
            base = expr.value
            base_name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
            if base_name in ("tuple", "Tuple") and isinstance(expr.slice, ast.Tuple):
                elts = expr.slice.elts
                if not any(isinstance(e, ast.Constant) and e.value is Ellipsis for e in elts):
                    return max(len(elts), 1)
        return 1
    if typing.get_origin(ann) is tuple:
        args = typing.get_args(ann)
        if args and Ellipsis not in args and args != ((),):
            return len(args)
    return 1


def _output_types(fn: Callable[..., Any], n_outputs: int) -> list[Any] | None:
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # names only imported under TYPE_CHECKING: no check
        return None
    if "return" not in hints:
        return None
    ret = hints["return"]
    if n_outputs > 1:
        return list(typing.get_args(ret))
    return [ret]


@overload
def step(fn: F) -> F: ...


@overload
def step(
    fn: None = None,
    *,
    retries: int = 0,
    timeout: float | None = None,
    cache: bool = True,
    cpus: float = 1.0,
    memory_mb: int | None = None,
    gpus: float = 0.0,
    name: str | None = None,
) -> Callable[[F], F]: ...


def step(
    fn: Callable[..., Any] | None = None,
    *,
    retries: int = 0,
    timeout: float | None = None,
    cache: bool = True,
    cpus: float = 1.0,
    memory_mb: int | None = None,
    gpus: float = 0.0,
    name: str | None = None,
) -> Any:
    """Make ``fn`` a pipeline step: ``@step`` or ``@step(retries=2, timeout=30, cache=False)``.

    Annotate inputs and the output (``-> tuple[A, B]`` for several outputs): the output type
    is checked when the step returns and chooses how the value is stored.
    """

    def wrap(f: Callable[..., Any]) -> Step:
        return Step(
            f,
            name=name,
            retries=retries,
            timeout=timeout,
            cache=cache,
            cpus=cpus,
            memory_mb=memory_mb,
            gpus=gpus,
        )

    if fn is not None:
        return wrap(fn)
    return wrap
