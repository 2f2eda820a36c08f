"""One step execution, self-contained: load inputs by hash, run, check, store outputs.

This is what a task payload holds and what :func:`~loopml.pipeline.executors.base.run_task`
runs in any process. Outputs are written to the object store first and reported only when all
of them are stored, so a step that fails half-way reports no output at all.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import numbers
import pickle
import sys
import time
import traceback
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loopml.errors import LoopmlError
from loopml.pipeline.materializers import (
    PICKLE,
    Materializer,
    choose,
    get_materializer,
    type_name,
)

if TYPE_CHECKING:
    from loopml.config import Settings
    from loopml.pipeline.steps import Step
    from loopml.store.metadata.entities import Run
    from loopml.tracking.context import Context

__all__ = ["InputSpec", "TaskSpec", "execute", "load_output", "run_payload"]

MAX_LOG_CHARS = 1_000_000


@dataclass(frozen=True)
class InputSpec:
    hash: str
    materializer: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class TaskSpec:
    node: str
    step: Step
    inputs: dict[str, InputSpec]
    literals: dict[str, Any]
    output_types: list[Any] | None
    settings: Settings
    run_id: str | None = None
    materializers: list[Materializer] = field(default_factory=list)
    attempt: int = 1
    run: Run | None = None  # the step's tracking run as created (saves reading it back)


class StepError(Exception):
    """A failure of the step's contract (type, storage), as opposed to the step raising."""


def run_payload(payload: bytes) -> bytes:
    import cloudpickle

    try:
        spec: TaskSpec = cloudpickle.loads(payload)
    except Exception as exc:  # reported as the step's error
        result = _failure("?", exc, 0.0, "", [])
        result["error"]["message"] = (
            f"the step task could not be unpickled in this process ({type(exc).__name__}: "
            f"{exc}); are the step's modules importable here?"
        )
        return pickle.dumps(result)
    return pickle.dumps(execute(spec))


def _context_for(settings: Settings) -> Context:
    from loopml.tracking import context as tracking_context

    ctx = tracking_context.get_context()
    current = ctx.settings
    if (current.db_url, current.object_store, current.tracking_uri) != (
        settings.db_url,
        settings.object_store,
        settings.tracking_uri,
    ):
        tracking_context.configure(
            settings.root, db_url=settings.db_url, object_store=settings.object_store
        )
        ctx = tracking_context.get_context()
    return ctx


class _Tee(io.TextIOBase):
    def __init__(self, target: Any, sink: io.StringIO) -> None:
        self.target = target
        self.sink = sink

    def write(self, text: str) -> int:
        self.sink.write(text)
        with contextlib.suppress(Exception):
            self.target.write(text)
        return len(text)

    def flush(self) -> None:
        with contextlib.suppress(Exception):
            self.target.flush()


@contextlib.contextmanager
def _captured() -> Iterator[io.StringIO]:
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Tee(out, sink), _Tee(err, sink)
    try:
        yield sink
    finally:
        sys.stdout, sys.stderr = out, err
        root.removeHandler(handler)


def execute(spec: TaskSpec) -> dict[str, Any]:
    """Run the step of ``spec``; a dict result (never raises for the step's own failures)."""
    start = time.perf_counter()
    warnings_out: list[str] = []
    logs = ""
    ctx = _context_for(spec.settings)
    active = _activate(spec)
    try:
        with _captured() as sink:
            try:
                kwargs = dict(spec.literals)
                for arg, ref in spec.inputs.items():
                    m = get_materializer(ref.materializer, spec.materializers)
                    kwargs[arg] = m.load(ctx.objects, ref.hash, ref.meta)
                value = spec.step.fn(**kwargs)
            finally:
                logs = sink.getvalue()[-MAX_LOG_CHARS:]
        elapsed = (time.perf_counter() - start) * 1000
        outputs = _store_outputs(spec, value, ctx, warnings_out)
        metrics = _flat_metrics(value) if spec.step.n_outputs == 1 else None
        _deactivate(active, spec.run_id, None)
        return {
            "ok": True,
            "outputs": outputs,
            "metrics": metrics or {},
            "duration_ms": elapsed,
            "logs": logs,
            "warnings": warnings_out,
            "error": None,
        }
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # SystemExit from a step is the step failing, too
        result = _failure(spec.node, exc, (time.perf_counter() - start) * 1000, logs, warnings_out)
        with contextlib.suppress(Exception):
            _deactivate(active, spec.run_id, result["error"]["message"])
        return result


def _activate(spec: TaskSpec) -> Any:
    """Make the step's tracking run the active one, so ``loopml.log_metric`` in the step
    logs to it. With the run as created in hand it is pushed on the fluent stack directly (a
    read and a write fewer per step: the pipeline records the run's end in its batch)."""
    if spec.run_id is None:
        return None
    from loopml.tracking import fluent

    stack = getattr(fluent, "_stack", None)
    lock = getattr(fluent, "_stack_lock", None)
    if spec.run is not None and isinstance(stack, list) and lock is not None:
        active = fluent.ActiveRun(spec.run)
        with lock:
            stack.append(active)
        return active
    try:
        fluent.start_run(run_id=spec.run_id, nested=True)
    except LoopmlError:
        return None
    return True


def _deactivate(active: Any, run_id: str | None, error: str | None) -> None:
    if active is None or run_id is None:
        return
    from loopml.tracking import fluent

    if active is True:
        fluent.end_run("FAILED" if error else "FINISHED", message=error, run_id=run_id)
        return
    try:
        fluent.flush()  # what the step logged, before the pipeline records the run's end
    finally:
        with fluent._stack_lock:
            fluent._stack[:] = [a for a in fluent._stack if a is not active]


def _failure(
    node: str, exc: BaseException, elapsed: float, logs: str, warnings_out: list[str]
) -> dict[str, Any]:
    contract = isinstance(exc, StepError)
    message = str(exc) if contract else f"step {node!r} failed: {type(exc).__name__}: {exc}"
    code = exc.code if isinstance(exc, LoopmlError) else None
    return {
        "ok": False,
        "outputs": [],
        "duration_ms": elapsed,
        "logs": logs,
        "warnings": warnings_out,
        "error": {
            "type": f"{type(exc).__module__}.{type(exc).__qualname__}",
            "message": message,
            "code": code,
            "traceback": "" if contract else "".join(traceback.format_exception(exc)),
        },
    }


def _split(spec: TaskSpec, value: Any) -> list[Any]:
    n = spec.step.n_outputs
    if n == 1:
        return [value]
    if not isinstance(value, tuple | list) or len(value) != n:
        raise StepError(
            f"step {spec.node!r} declares {n} outputs (-> tuple[...]) but returned "
            f"{type(value).__name__}"
            + (f" of length {len(value)}" if isinstance(value, tuple | list) else "")
        )
    return list(value)


def _store_outputs(
    spec: TaskSpec, value: Any, ctx: Context, warnings_out: list[str]
) -> list[dict[str, Any]]:
    values = _split(spec, value)
    types = spec.output_types
    for i, item in enumerate(values):
        if types is not None and i < len(types) and not conforms(item, types[i]):
            where = (
                f"output {i} of step {spec.node!r}" if len(values) > 1 else f"step {spec.node!r}"
            )
            raise StepError(
                f"{where} returned {type_name(item)}, but its annotation allows only "
                f"{_show(types[i])}: fix the return value or the annotation"
            )
    records = []
    for i, item in enumerate(values):
        m = choose(item, spec.materializers)
        try:
            digest, kind, meta = m.save(item, ctx.objects)
        except LoopmlError as exc:
            raise StepError(
                f"step {spec.node!r}: output {i} ({type_name(item)}) could not be stored by "
                f"the {m.name} materializer: {exc.message}"
            ) from exc
        except Exception as exc:
            raise StepError(
                f"step {spec.node!r}: output {i} ({type_name(item)}) could not be stored by "
                f"the {m.name} materializer ({type(exc).__name__}: {exc}); return a value "
                "that can be serialised or register a Materializer for its type"
            ) from exc
        if m is PICKLE:
            warnings_out.append(
                f"step {spec.node!r}: output {i} of type {type_name(item)} has no materializer "
                "and was stored with cloudpickle (loading it needs the same code); register a "
                "Materializer for it with loopml.pipeline.register_materializer"
            )
        records.append(
            {
                "hash": digest,
                "kind": kind,
                "materializer": m.name,
                "type": type_name(item),
                "size": ctx.objects.size(digest),
                "meta": meta,
            }
        )
    return records


def _flat_metrics(value: Any) -> dict[str, float] | None:
    if not isinstance(value, dict) or not value or len(value) > 1000:
        return None
    out: dict[str, float] = {}
    for key, item in value.items():
        if (
            not isinstance(key, str)
            or isinstance(item, bool)
            or not isinstance(item, numbers.Real)
            or not math.isfinite(float(item))
        ):
            return None
        out[key] = float(item)
    return out


def _show(ann: Any) -> str:
    return getattr(ann, "__qualname__", None) or str(ann)


def conforms(value: Any, ann: Any) -> bool:
    """Whether ``value`` fits annotation ``ann`` (checking the outer type of generics)."""
    if ann is Any or ann is object or isinstance(ann, str | typing.TypeVar):
        return True
    if ann is None or ann is type(None):
        return value is None
    origin = typing.get_origin(ann)
    import types as _types

    if origin is typing.Union or origin is _types.UnionType:
        return any(conforms(value, a) for a in typing.get_args(ann))
    if origin is typing.Literal:
        return value in typing.get_args(ann)
    if origin is typing.Annotated:
        return conforms(value, typing.get_args(ann)[0])
    target = origin if origin is not None else ann
    if not isinstance(target, type):
        return True
    if target is float and isinstance(value, int) and not isinstance(value, bool):
        return True
    if target is complex and isinstance(value, int | float) and not isinstance(value, bool):
        return True
    try:
        return isinstance(value, target)
    except TypeError:
        return True


def load_output(record: dict[str, Any], ctx: Context | None = None) -> Any:
    """The value an output record names, loaded by its materializer."""
    if ctx is None:
        from loopml.tracking.context import get_context

        ctx = get_context()
    m = get_materializer(record["materializer"])
    return m.load(ctx.objects, record["hash"], record.get("meta") or {})
