"""``loopml.tune``: search a pipeline's (or a function's) parameters with Optuna.

The tuning process owns the study and asks it for parameters (ask/tell); trials run in this
process, in a pool of worker processes or as Ray tasks, ``parallel`` at a time. Each trial is a
nested tracked run under one parent run. Trials write intermediate values (:func:`report`) to
an Optuna journal file beside the project's database, which is how a pruner in the tuning
process sees them and how a trial learns it was pruned. ``pip install 'loopml[tune]'``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from loopml.errors import InvalidParameterError, LoopmlError, error_from_code
from loopml.pipeline.tune_options import (
    check_options,
    describe,
    import_optuna,
    make_pruner,
    make_sampler,
)
from loopml.pipeline.tune_pool import TrialPool, open_pool
from loopml.pipeline.tune_report import TrialPruned, report
from loopml.pipeline.tune_result import TrialRow, TuneResult
from loopml.pipeline.tune_space import Dimension, load_space
from loopml.pipeline.tune_trial import COMPLETE, FAIL, PRUNED, TrialOutcome, TrialSpec

if TYPE_CHECKING:
    from loopml.store.metadata.entities import Run

__all__ = ["TrialPruned", "TuneResult", "report", "tune"]

_FAIL_FAST = 3  # stop when the first trials all fail: the objective is broken, not unlucky


def tune(
    objective_or_pipeline: Any,
    space: Mapping[str, Any] | str | Path,
    *,
    n_trials: int = 20,
    parallel: int = 1,
    executor: str = "process",
    direction: Literal["maximize", "minimize"] = "maximize",
    metric: str | None = None,
    sampler: str = "tpe",
    pruner: str | None = "median",
    seed: int | None = None,
    experiment: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> TuneResult:
    """Run ``n_trials`` trials over ``space`` and return every trial and the best one.

    ``objective_or_pipeline`` is a ``@pipeline`` (or its ``"file.py:name"`` reference): each
    trial runs it with the trial's parameters over ``params`` and reads ``metric`` from its
    evaluation step's output dict. Or it is a function ``objective(params) -> float`` (or a
    dict, with ``metric`` naming the entry). ``executor`` is ``"local"`` (this process, one at
    a time), ``"process"`` or ``"ray"``.
    """
    check_options(n_trials, parallel, executor, direction, sampler, pruner)
    dims = load_space(space)
    target = _Target.of(objective_or_pipeline, metric)
    fixed = dict(params or {})
    target.check(dims, fixed)
    optuna = import_optuna()
    from loopml.tracking import fluent
    from loopml.tracking.context import get_context

    settings = get_context().settings
    objective_name = metric or "objective"
    parent = fluent.start_run(
        f"tune-{target.name}",
        experiment=experiment,
        nested=True,
        tags={"loopml.tune": "parent", "loopml.tune.target": target.name},
    )
    storage_path = settings.state_dir / "tune" / f"{parent.run_id}.journal"
    result = TuneResult(
        parent.run_id, parent.run_id, direction, objective_name, storage_path=str(storage_path)
    )
    try:
        fluent.log_params(
            {
                "n_trials": n_trials,
                "parallel": parallel,
                "executor": executor,
                "direction": direction,
                "metric": objective_name,
                "sampler": sampler,
                "pruner": pruner or "none",
                "seed": seed,
                "space": json.dumps({d.name: describe(d) for d in dims}),
                **{f"fixed.{k}": v for k, v in fixed.items()},
            }
        )
        storage_path.parent.mkdir(parents=True, exist_ok=True)
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        pruner_obj = make_pruner(optuna, pruner)
        study = optuna.create_study(
            storage=JournalStorage(JournalFileBackend(str(storage_path))),
            sampler=make_sampler(optuna, sampler, seed),
            pruner=pruner_obj,
            study_name=parent.run_id,
            direction=direction,
        )
        loop = _Loop(
            study=study,
            dims=dims,
            target=target,
            fixed=fixed,
            metric=metric,
            parent=parent.info,
            settings=(str(settings.root), settings.db_url, settings.object_store),
            storage_path=str(storage_path),
            pruner=pruner_obj,
            experiment=experiment,
            result=result,
        )
        with open_pool(executor, parallel) as pool:
            loop.run(pool, n_trials, parallel)
        _finish(optuna, result)
    except KeyboardInterrupt:
        fluent.end_run("KILLED", run_id=parent.run_id, message="interrupted (KeyboardInterrupt)")
        raise
    except BaseException:
        failed = [t for t in result.trials if t.state == FAIL]
        note = f"trial {failed[0].number} failed: {failed[0].message}" if failed else None
        fluent.end_run("FAILED", run_id=parent.run_id, message=note)
        raise
    fluent.end_run("FINISHED", run_id=parent.run_id)
    return result


def _finish(optuna: Any, result: TuneResult) -> None:
    """Log the best trial on the parent run, or fail when no trial completed."""
    from loopml.tracking import fluent

    if not result.completed:
        failed = [t for t in result.trials if t.state == FAIL]
        first = failed[0] if failed else None
        message = (
            f"no trial completed: trial {first.number} failed: {first.message}"
            if first
            else "no trial completed (every trial was pruned)"
        )
        raise LoopmlError(message, trials=len(result.trials))
    best = result.best_trial
    fluent.log_metric(f"best_{result.metric}", best.value or 0.0)
    fluent.set_tags(
        {
            "loopml.tune.best_trial": best.number,
            "loopml.tune.best_run": best.run_id,
            "loopml.tune.best_params": json.dumps(best.params, default=str),
        }
    )


class _Target:
    """What a trial runs: a callable, a Pipeline object or a pipeline reference."""

    def __init__(self, name: str, objective: Any, pipeline: Any, ref: str | None) -> None:
        self.name, self.objective, self.pipeline, self.ref = name, objective, pipeline, ref

    @classmethod
    def of(cls, value: Any, metric: str | None) -> _Target:
        from loopml.pipeline.definition import Pipeline

        if isinstance(value, str | Path):
            from loopml.pipeline.loader import load_pipeline

            pipe = load_pipeline(str(value))
            return cls(pipe.name, None, pipe, pipe.ref)
        if isinstance(value, Pipeline):
            return cls(value.name, None, value, value.default_ref())
        if callable(value):
            return cls(getattr(value, "__name__", "objective"), value, None, None)
        raise InvalidParameterError(
            f"tune() takes a @pipeline, a 'file.py:name' reference or a function "
            f"objective(params) -> float; got {type(value).__name__}"
        )

    def check(self, dims: list[Dimension], fixed: Mapping[str, Any]) -> None:
        overlap = sorted({d.name for d in dims} & set(fixed))
        if overlap:
            raise InvalidParameterError(
                f"search space key {overlap[0]!r} is also a fixed param: drop it from one"
            )
        if self.pipeline is None:
            return
        known = self.pipeline.params
        for name in [d.name for d in dims] + list(fixed):
            if name not in known:
                raise InvalidParameterError(
                    f"search space key {name!r} is not a parameter of pipeline "
                    f"{self.name!r} (its parameters: {', '.join(known) or 'none'})"
                )

    def spec_fields(self) -> dict[str, Any]:
        if self.objective is not None:
            return {"objective": self.objective}
        return {"pipeline": self.pipeline, "pipeline_ref": self.ref}


@dataclass
class _Loop:
    """Ask/tell: keep ``parallel`` trials in flight until ``n_trials`` have finished."""

    study: Any
    dims: list[Dimension]
    target: _Target
    fixed: dict[str, Any]
    metric: str | None
    parent: Run
    settings: tuple[str, str, str]
    storage_path: str
    pruner: Any
    experiment: str | None
    result: TuneResult
    rows: dict[int, TrialRow] = field(default_factory=dict)
    first_error: TrialOutcome | None = None

    def run(self, pool: TrialPool, n_trials: int, parallel: int) -> None:
        from loopml.tracking import fluent

        client = fluent.client()
        inflight: dict[Future[TrialOutcome], tuple[Any, dict[str, Any], str]] = {}
        asked = 0
        while asked < n_trials or inflight:
            while asked < n_trials and len(inflight) < parallel and not self._broken():
                trial = self.study.ask()
                suggested = {d.name: d.suggest(trial) for d in self.dims}
                run = client.create_run(
                    self.parent.experiment_id,
                    run_name=f"trial-{trial.number}",
                    parent_run_id=self.parent.run_id,
                    tags={"loopml.tune": "trial", "loopml.tune.trial": trial.number},
                    capture_provenance=False,
                )
                client.log_params(run.run_id, suggested)
                spec = TrialSpec(
                    number=trial.number,
                    trial_id=trial._trial_id,
                    params={**self.fixed, **suggested},
                    run_id=run.run_id,
                    metric=self.metric,
                    settings=self.settings,
                    storage_path=self.storage_path,
                    study_name=self.study.study_name,
                    pruner=self.pruner,
                    experiment=self.experiment,
                    **self.target.spec_fields(),
                )
                inflight[pool.submit(spec)] = (trial, suggested, run.run_id)
                asked += 1
            if not inflight:
                break
            done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
            for future in done:
                trial, suggested, run_id = inflight.pop(future)
                self._tell(trial, suggested, run_id, _outcome(future, trial.number))
        self._raise_if_broken()

    def _tell(self, trial: Any, params: dict[str, Any], run_id: str, out: TrialOutcome) -> None:
        from optuna.trial import TrialState

        if out.state == FAIL:
            _close_lost_run(run_id, out)
        if out.state == COMPLETE:
            self.study.tell(trial, out.value)
        elif out.state == PRUNED:
            self.study.tell(trial, state=TrialState.PRUNED)
        else:
            self.study.tell(trial, state=TrialState.FAIL)
        row = TrialRow(
            out.number,
            out.state,
            out.value,
            params,
            run_id,
            out.pipeline_run_id,
            out.duration_s,
            out.message,
        )
        self.rows[out.number] = row
        self.result.trials = [self.rows[n] for n in sorted(self.rows)]
        if out.state == FAIL and self.first_error is None:
            self.first_error = out

    def _broken(self) -> bool:
        finished = self.result.trials
        return len(finished) >= _FAIL_FAST and all(t.state == FAIL for t in finished)

    def _raise_if_broken(self) -> None:
        out = self.first_error
        if self._broken() and out is not None:
            message = (
                f"the first {len(self.result.trials)} trials all failed, so tuning stopped; "
                f"trial {out.number}: {out.message}"
            )
            raise error_from_code(out.error_code or "INTERNAL_ERROR", message)


def _close_lost_run(run_id: str, out: TrialOutcome) -> None:
    """A trial whose worker died never ended its run: end it here, FAILED with the reason."""
    from loopml.store.metadata.entities import RunStatus
    from loopml.tracking import fluent

    client = fluent.client()
    if client.get_run(run_id).status is RunStatus.RUNNING:
        client.set_tags(run_id, {"loopml.tune.state": FAIL})
        client.end_run(run_id, RunStatus.FAILED, out.message)


def _outcome(future: Future[TrialOutcome], number: int) -> TrialOutcome:
    """A trial whose worker died still becomes a FAIL row, not a crashed tuning job."""
    exc = future.exception()
    if exc is None:
        return future.result()
    message = exc.message if isinstance(exc, LoopmlError) else f"{type(exc).__name__}: {exc}"
    return TrialOutcome(number, FAIL, message=message, error_code=getattr(exc, "code", None))
