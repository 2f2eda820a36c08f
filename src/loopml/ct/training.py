"""Training a candidate: resolve the newest data, run the policy's pipeline, find its holdout.

The controller talks to a :class:`Trainer`; :class:`PipelineTrainer` is the real one and runs
``loopml.pipeline.run_pipeline``. The holdout convention (see docs/continuous-training.md):
``policy.holdout`` is either a ``data:/name[@latest|/N]`` URI, read as a table, or a step output
of the candidate's pipeline run, ``step`` or ``step[i]`` (an element of a tuple output; the
default ``split[-1]`` is the last output of the ``split`` step, the test frame).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from loopml.ct.policy import Policy
from loopml.errors import DataValidationError, InvalidParameterError

__all__ = ["PipelineTrainer", "TrainResult", "Trainer", "pin_data_params", "select_output"]

_STEP = re.compile(r"^(?P<step>[A-Za-z_][A-Za-z0-9_.\-]*)(?:\[(?P<index>-?\d+)\])?$")


@dataclass(frozen=True)
class TrainResult:
    status: str  # FINISHED or FAILED
    pipeline_run_id: str | None = None
    tracking_run_id: str | None = None
    registered: list[str] = field(default_factory=list)  # models:/<name>/<version>
    error: str | None = None
    validation_failed: bool = False  # the pipeline stopped on a DataValidationError


class Trainer(Protocol):
    def train(self, policy: Policy, params: dict[str, Any]) -> TrainResult: ...

    def holdout(self, policy: Policy, pipeline_run_id: str | None) -> Any: ...


def pin_data_params(params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Replace ``data:/name@latest`` (or ``data:/name``) parameters by the newest version's
    ``data:/name/N``, so the run records exactly which data it trained on."""
    from loopml.data.versions import resolve

    pinned: dict[str, Any] = {}
    resolved: dict[str, str] = {}
    for key, value in params.items():
        if isinstance(value, str) and value.startswith("data:/") and not re.search(r"/\d+$", value):
            version = resolve(value)
            pinned[key] = f"data:/{version.name}/{version.version}"
            resolved[key] = pinned[key]
        else:
            pinned[key] = value
    return pinned, resolved


def select_output(value: Any, index: int | None, spec: str) -> Any:
    if index is None:
        if isinstance(value, tuple | list):
            raise InvalidParameterError(
                f"holdout {spec!r} is a step with {len(value)} outputs: pick one, e.g. {spec}[-1]"
            )
        return value
    if not isinstance(value, tuple | list):
        raise InvalidParameterError(f"holdout {spec!r}: the step has one output, drop the [i]")
    try:
        return value[index]
    except IndexError:
        raise InvalidParameterError(
            f"holdout {spec!r}: the step has only {len(value)} outputs"
        ) from None


def parse_holdout(spec: str) -> tuple[str, int | None]:
    match = _STEP.match(spec)
    if match is None:
        raise InvalidParameterError(
            f"holdout {spec!r} is neither a data:/ URI nor a step output like 'split[-1]'"
        )
    index = match.group("index")
    return match.group("step"), None if index is None else int(index)


def _is_validation_error(error: Any) -> bool:
    if isinstance(error, DataValidationError):
        return True
    text = f"{type(error).__name__} {error}"
    return any(
        s in text for s in ("DataValidationError", "ValidationFailedError", "DATA_VALIDATION")
    )


class PipelineTrainer:
    """Runs the policy's pipeline with ``loopml.pipeline.run_pipeline`` (cached, tracked)."""

    def __init__(self, root: Path | None = None, executor: str = "local") -> None:
        self.root = root
        self.executor = executor

    def _target(self, policy: Policy) -> str:
        path, _, func = policy.pipeline.rpartition(":")
        file = Path(path)
        if not file.is_absolute():  # relative to the project the SDK is pointed at
            from loopml.tracking.context import get_context

            file = (self.root or get_context().settings.root) / file
        if not file.is_file():
            raise InvalidParameterError(
                f"ct.{policy.name}.pipeline: {str(file)!r} does not exist", key="pipeline"
            )
        return f"{file}:{func}"

    def train(self, policy: Policy, params: dict[str, Any]) -> TrainResult:
        from loopml.pipeline import run_pipeline

        try:
            run = run_pipeline(self._target(policy), params, executor=self.executor, cache=True)
        except DataValidationError as exc:
            return TrainResult("FAILED", error=str(exc), validation_failed=True)
        error = getattr(run, "error", None)
        failed = str(run.status) != "FINISHED"
        return TrainResult(
            status="FAILED" if failed else "FINISHED",
            pipeline_run_id=str(run.id),
            tracking_run_id=getattr(run, "run_id", None),
            registered=[str(u) for u in (getattr(run, "registered", None) or [])],
            error=None if error is None else str(error),
            validation_failed=failed and error is not None and _is_validation_error(error),
        )

    def holdout(self, policy: Policy, pipeline_run_id: str | None) -> Any:
        if policy.holdout.startswith("data:/"):
            from loopml.data.tables import read_table

            return read_table(policy.holdout)
        step, index = parse_holdout(policy.holdout)
        if pipeline_run_id is None:
            raise InvalidParameterError("the candidate has no pipeline run to read a holdout from")
        from loopml.pipeline import get_pipeline_run

        value = get_pipeline_run(pipeline_run_id).output(step)
        return select_output(value, index, policy.holdout)
