"""Tuning plain objectives: trials as nested runs, the best trial, pruning, parallel workers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import loopml
from loopml.errors import InvalidParameterError, LoopmlError
from loopml.pipeline.tune import TrialPruned, report, tune

pytest.importorskip("optuna")

SPACE = {
    "x": {"type": "float", "low": -3.0, "high": 3.0},
    "kind": {"type": "categorical", "choices": ["a", "b"]},
}


def quadratic(params: dict[str, Any]) -> float:
    bonus = 1.0 if params["kind"] == "b" else 0.0
    return -((params["x"] - 1.0) ** 2) + bonus


def scored(params: dict[str, Any]) -> dict[str, float]:
    loopml.log_param("pid", os.getpid())
    return {"auc": 1.0 - abs(params["x"] - 1.0) / 10, "loss": abs(params["x"] - 1.0)}


def curve(params: dict[str, Any]) -> float:
    value = 0.0
    for step in range(1, 6):
        value = params["x"] * step
        report(value, step)
    return value


def broken(params: dict[str, Any]) -> float:
    raise ZeroDivisionError("the objective divides by zero")


def _children(parent_run_id: str) -> list[Any]:
    runs = loopml.search_runs(filter=f"attributes.parent_run_id = '{parent_run_id}'")
    return list(runs)


def test_local_trials_find_the_optimum_and_are_nested_runs(project: Path) -> None:
    result = tune(quadratic, SPACE, n_trials=12, executor="local", seed=1, sampler="random")
    assert len(result.trials) == 12
    assert all(t.state == "COMPLETE" for t in result.trials)
    values = [t.value for t in result.trials]
    assert result.best_value == max(values)
    assert result.best_params == result.best_trial.params
    assert result.best_value == pytest.approx(quadratic(result.best_params))
    parent = loopml.get_run(result.run_id)
    assert parent.status == "FINISHED"
    assert parent.params["n_trials"] == "12" and parent.params["sampler"] == "random"
    assert parent.metrics["best_objective"] == pytest.approx(result.best_value)
    assert parent.tags["loopml.tune.best_run"] == result.best_run_id
    best = loopml.get_run(result.best_run_id)
    assert best.parent_run_id == result.run_id
    assert best.status == "FINISHED"
    assert float(best.params["x"]) == pytest.approx(result.best_params["x"])
    assert best.metrics["objective"] == pytest.approx(result.best_value)
    assert best.tags["loopml.tune.state"] == "COMPLETE"
    assert best.tags["loopml.tune.trial"] == str(result.best_trial.number)
    frame = result.to_pandas()
    assert list(frame["number"]) == list(range(12))
    assert {"state", "value", "run_id", "params.x", "params.kind"} <= set(frame.columns)
    assert "12 complete" in repr(result)


def test_minimize_with_a_dict_objective_and_metric(project: Path) -> None:
    result = tune(
        scored,
        {"x": {"type": "float", "low": -3.0, "high": 3.0}},
        n_trials=6,
        executor="local",
        direction="minimize",
        metric="loss",
        seed=3,
    )
    assert result.best_value == min(t.value for t in result.trials if t.value is not None)
    best = loopml.get_run(result.best_run_id)
    # every numeric entry is logged; the objective's own log_param lands in the trial's run
    assert best.metrics["auc"] == pytest.approx(1.0 - result.best_value / 10)
    assert best.params["pid"] == str(os.getpid())


def test_a_dict_without_the_metric_stops_tuning_early(project: Path) -> None:
    with pytest.raises(InvalidParameterError, match=r"returned no 'f1' \(keys: auc, loss\)"):
        tune(
            scored,
            {"x": {"type": "float", "low": 0, "high": 1}},
            n_trials=10,
            executor="local",
            metric="f1",
        )
    tune_runs = loopml.search_runs(filter="tags.`loopml.tune` = 'parent'")
    assert len(tune_runs) == 1 and tune_runs[0].status == "FAILED"
    # stopped after the first three failures instead of running all ten
    assert len(_children(tune_runs[0].run_id)) == 3


def test_a_crashing_objective_fails_trials_with_its_error(project: Path) -> None:
    with pytest.raises(LoopmlError, match="ZeroDivisionError: the objective divides by zero"):
        tune(broken, {"x": {"type": "int", "low": 0, "high": 3}}, n_trials=5, executor="local")
    trials = _children(loopml.search_runs(filter="tags.`loopml.tune` = 'parent'")[0].run_id)
    assert {t.status for t in trials} == {"FAILED"}
    assert {t.tags["loopml.tune.state"] for t in trials} == {"FAIL"}


def test_pruning_stops_hopeless_trials(project: Path) -> None:
    result = tune(
        curve,
        {"x": {"type": "float", "low": 0.0, "high": 1.0}},
        n_trials=14,
        executor="local",
        sampler="random",
        seed=7,
        pruner="median",
    )
    states = [t.state for t in result.trials]
    assert "PRUNED" in states and "COMPLETE" in states
    pruned = next(t for t in result.trials if t.state == "PRUNED")
    run = loopml.get_run(pruned.run_id)
    assert run.status == "KILLED" and run.tags["loopml.tune.state"] == "PRUNED"
    history = loopml.get_metric_history(pruned.run_id, "objective")
    assert 1 <= len(history) < 5  # stopped before the last step
    assert "pruned at step" in (pruned.message or "")
    # without a pruner every trial runs to the end
    result = tune(
        curve,
        {"x": {"type": "float", "low": 0.0, "high": 1.0}},
        n_trials=6,
        executor="local",
        seed=7,
        pruner=None,
    )
    assert {t.state for t in result.trials} == {"COMPLETE"}


def test_report_outside_a_trial_logs_to_the_active_run(project: Path) -> None:
    with loopml.start_run() as run:
        report(0.5, 2)
    assert [(m.value, m.step) for m in loopml.get_metric_history(run.run_id, "objective")] == [
        (0.5, 2)
    ]
    report(0.1, 0)  # no run, no trial: nothing to log to, and no error
    with pytest.raises(InvalidParameterError, match="finite number"):
        report(float("nan"), 1)
    with pytest.raises(InvalidParameterError, match="integer >= 0"):
        report(1.0, -1)
    assert issubclass(TrialPruned, LoopmlError)


@pytest.mark.slow
def test_process_executor_runs_trials_in_parallel_workers(project: Path) -> None:
    result = tune(
        scored,
        {"x": {"type": "float", "low": -3.0, "high": 3.0}},
        n_trials=4,
        parallel=2,
        executor="process",
        metric="auc",
        seed=5,
    )
    assert [t.state for t in result.trials] == ["COMPLETE"] * 4
    pids = {loopml.get_run(t.run_id).params["pid"] for t in result.trials}
    assert str(os.getpid()) not in pids
    assert 1 <= len(pids) <= 2
    assert result.best_value == max(t.value for t in result.trials if t.value is not None)


def crash_low(params: dict[str, Any]) -> float:
    if params["x"] < 0.5:
        os._exit(3)  # the worker dies: no exception, no outcome
    return float(params["x"])


@pytest.mark.slow
def test_a_dying_worker_fails_its_trial_and_is_replaced(project: Path) -> None:
    result = tune(
        crash_low,
        {"x": {"type": "float", "low": 0.0, "high": 1.0}},
        n_trials=3,
        executor="process",
        sampler="random",
        seed=3,  # x = 0.55, 0.71, 0.29
    )
    assert [t.state for t in result.trials] == ["COMPLETE", "COMPLETE", "FAIL"]
    assert "died (exit code 3)" in (result.trials[2].message or "")
    lost = loopml.get_run(result.trials[2].run_id)
    assert lost.status == "FAILED" and lost.tags["loopml.tune.state"] == "FAIL"
    assert result.best_value == pytest.approx(0.71, abs=0.01)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_trials": 0}, "n_trials must be an integer >= 1"),
        ({"parallel": 2, "executor": "local"}, "one trial at a time"),
        ({"executor": "dask"}, "unknown executor 'dask'"),
        ({"direction": "up"}, "'maximize' or 'minimize'"),
        ({"sampler": "grid"}, "unknown sampler 'grid'"),
        ({"pruner": "always"}, "unknown pruner 'always'"),
        ({"params": {"x": 1}}, "'x' is also a fixed param"),
    ],
)
def test_bad_options(project: Path, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        tune(quadratic, SPACE, **{"executor": "local", **kwargs})
    with pytest.raises(InvalidParameterError, match="takes a @pipeline"):
        tune(42, SPACE)
