"""One tuning trial, runnable in any process: this one, a pool worker or a Ray task.

The tuning process sends a cloudpickled :class:`TrialSpec` and gets back a cloudpickled
:class:`TrialOutcome`. The trial opens the same loopml project (its settings travel in the
spec), makes the trial's run active so that the objective's own ``loopml.log_*`` calls land
in it, runs the objective or the pipeline, and ends the run with the trial's state.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from loopml.errors import InvalidParameterError, LoopmlError, StepFailedError

__all__ = ["TrialOutcome", "TrialSpec", "pick_metric", "run_trial"]

COMPLETE, PRUNED, FAIL = "COMPLETE", "PRUNED", "FAIL"


@dataclass
class TrialSpec:
    number: int
    trial_id: int
    params: dict[str, Any]  # the trial's suggestions merged over the fixed params
    run_id: str  # the trial's tracked run, created by the tuning process
    metric: str | None
    settings: tuple[str, str, str]  # project root, metadata URL, object store URL
    storage_path: str  # the Optuna journal shared with the tuning process
    study_name: str
    pruner: Any
    objective: Any = None  # a callable objective(params) ...
    pipeline: Any = None  # ... or a Pipeline object
    pipeline_ref: str | None = None  # ... or "file.py:name" (loaded here)
    experiment: str | None = None
    oracle: Any = None  # a Ray actor answering report() for trials on other nodes


@dataclass
class TrialOutcome:
    number: int
    state: str
    value: float | None = None
    message: str | None = None
    error_code: str | None = None
    pipeline_run_id: str | None = None
    duration_s: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)


def run_trial(payload: bytes) -> bytes:
    """Entry point in the worker: spec bytes in, outcome bytes out (never raises)."""
    import cloudpickle

    try:
        spec: TrialSpec = cloudpickle.loads(payload)
        outcome = execute(spec)
    except Exception as exc:
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        outcome = TrialOutcome(
            -1, FAIL, message=f"the trial could not run in this worker process: {text}"
        )
    return bytes(cloudpickle.dumps(outcome))


def _open_project(settings: tuple[str, str, str]) -> None:
    from loopml.tracking import context

    root, db_url, object_store = settings
    current = context.get_context().settings
    if (str(current.root), current.db_url, current.object_store) != settings:
        context.configure(root, db_url=db_url, object_store=object_store)


def execute(spec: TrialSpec) -> TrialOutcome:
    from loopml.pipeline.tune_report import JournalReporter, Reporter, TrialPruned, trial
    from loopml.tracking import fluent

    started = time.perf_counter()
    outcome = TrialOutcome(spec.number, FAIL)
    _open_project(spec.settings)
    reporter: Reporter
    if spec.oracle is not None:
        from loopml.pipeline.tune_ray import RayReporter

        reporter = RayReporter(
            spec.oracle, spec.trial_id, spec.number, spec.run_id, spec.metric or "objective"
        )
    else:
        reporter = JournalReporter(
            storage_path=spec.storage_path,
            study_name=spec.study_name,
            trial_id=spec.trial_id,
            trial_number=spec.number,
            pruner=spec.pruner,
            run_id=spec.run_id,
            metric=spec.metric or "objective",
        )
    fluent.start_run(run_id=spec.run_id, nested=True)
    status, message = "FINISHED", None
    try:
        with trial(reporter):
            outcome.value, outcome.metrics, outcome.pipeline_run_id = _evaluate(spec)
        outcome.state = COMPLETE
    except Exception as exc:
        # a step that was pruned fails its pipeline run: the reporter knows why
        if reporter.pruned or isinstance(exc, TrialPruned) or type(exc).__name__ == "TrialPruned":
            outcome.state, status = PRUNED, "KILLED"
        else:
            outcome.state, status = FAIL, "FAILED"
            outcome.error_code = exc.code if isinstance(exc, LoopmlError) else None
            if not isinstance(exc, LoopmlError):
                message = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        outcome.message = message or (exc.message if isinstance(exc, LoopmlError) else str(exc))
        if isinstance(exc, LoopmlError):
            outcome.pipeline_run_id = exc.details.get("pipeline_run_id")
    finally:
        outcome.duration_s = time.perf_counter() - started
        client = fluent.client()
        tags = {"loopml.tune.trial": spec.number, "loopml.tune.state": outcome.state}
        if outcome.pipeline_run_id:
            tags["loopml.tune.pipeline_run"] = outcome.pipeline_run_id
        client.set_tags(spec.run_id, tags)
        if outcome.value is not None:
            # after the intermediate values, so the final value is the metric's latest
            last = reporter.last_step
            step = 0 if last is None else last + 1
            client.log_metric(spec.run_id, spec.metric or "objective", outcome.value, step)
        fluent.end_run(status, message=outcome.message, run_id=spec.run_id)
    return outcome


def _evaluate(spec: TrialSpec) -> tuple[float, dict[str, float], str | None]:
    if spec.objective is not None:
        result = spec.objective(dict(spec.params))
        value, metrics = pick_metric(result, spec.metric, "the objective")
        if metrics:
            from loopml.tracking import fluent

            fluent.client().log_metrics(spec.run_id, metrics)
        return value, metrics, None
    return _evaluate_pipeline(spec)


def _evaluate_pipeline(spec: TrialSpec) -> tuple[float, dict[str, float], str | None]:
    from loopml.pipeline.runner import run_pipeline

    pipe = _pipeline_of(spec)
    run = run_pipeline(pipe, spec.params, executor="local", experiment=spec.experiment)
    if run.status != "FINISHED":
        raise StepFailedError(
            f"pipeline run {run.run_id} {run.status}: {run.error or 'see its steps'}",
            pipeline_run_id=run.run_id,
        )
    value, metrics = metric_from_run(run, spec.metric)
    return value, metrics, run.run_id


def _pipeline_of(spec: TrialSpec) -> Any:
    """The pipeline from its file when this machine has it (the code as the user sees it),
    else the copy pickled into the spec (a worker on another node of a cluster)."""
    from pathlib import Path

    from loopml.pipeline.loader import load_pipeline, split_ref

    if spec.pipeline_ref:
        target, _ = split_ref(spec.pipeline_ref)
        if spec.pipeline is None or not target.endswith(".py") or Path(target).is_file():
            return load_pipeline(spec.pipeline_ref)
    return spec.pipeline


def metric_from_run(run: Any, metric: str | None) -> tuple[float, dict[str, float]]:
    """The objective of a pipeline run: ``metric`` of its evaluation step's output dict.

    ``metric`` is ``"auc"`` (the last step whose output dict holds ``auc``; a step named
    ``evaluate`` first) or ``"evaluate.auc"`` (that step's output).
    """
    if not metric:
        raise InvalidParameterError(
            "tuning a pipeline needs metric=: the key of its evaluation step's output dict "
            "(e.g. metric='auc' or metric='evaluate.auc')"
        )
    step_name, _, key = metric.rpartition(".")
    names = list(run.steps)
    if step_name and step_name not in names:
        raise InvalidParameterError(
            f"metric {metric!r}: the pipeline has no step {step_name!r} ({', '.join(names)})"
        )
    candidates = [step_name] if step_name else list(reversed(names))
    if not step_name and "evaluate" in names:
        candidates.remove("evaluate")
        candidates.insert(0, "evaluate")
    for name in candidates:
        outputs = run.steps[name].outputs
        # only a single JSON output can be a dict: larger outputs are never loaded here
        if len(outputs) != 1 or outputs[0].get("materializer") != "json":
            continue
        output = run.output(name)
        if isinstance(output, Mapping) and key in output:
            return pick_metric(output, key, f"step {name!r}")
    raise InvalidParameterError(
        f"metric {metric!r}: no step of the pipeline returned a dict with key {key!r}; "
        "make the evaluation step return e.g. {'auc': 0.91}"
    )


def pick_metric(result: Any, metric: str | None, what: str) -> tuple[float, dict[str, float]]:
    """The objective value in ``result`` (a number, or a dict holding ``metric``) and every
    numeric entry of the dict, to log on the trial's run."""
    if isinstance(result, Mapping):
        numbers = {
            str(k): float(v)
            for k, v in result.items()
            if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        }
        if metric is None:
            raise InvalidParameterError(
                f"{what} returned a dict ({', '.join(map(str, result))}): pass metric= to "
                "say which entry is the objective"
            )
        if metric not in result:
            raise InvalidParameterError(
                f"{what} returned no {metric!r} (keys: {', '.join(map(str, result)) or 'none'})"
            )
        value = result[metric]
    else:
        numbers, value = {}, result
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidParameterError(
            f"{what} must give a finite number as the objective, got {value!r}"
        )
    return float(value), numbers
