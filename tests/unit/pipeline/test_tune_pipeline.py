"""Tuning a pipeline: each trial is a pipeline run nested in its trial run; the best trial's
model can be registered."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import loopml
from loopml.errors import InvalidParameterError, NotFoundError
from loopml.pipeline import get_pipeline_run
from loopml.pipeline.tune import tune

pytest.importorskip("optuna")

TOY = textwrap.dedent(
    """
    from loopml.pipeline import pipeline, step
    from loopml.pipeline.tune import report

    @step
    def ingest(n: int) -> dict:
        return {"xs": list(range(n))}

    @step
    def train(data: dict, depth: int = 2, rate: float = 0.1) -> dict:
        for epoch in range(3):
            report(1.0 - abs(depth - 5) / 10 - 0.1 * (2 - epoch), epoch)  # a learning curve
        return {"depth": depth, "rate": rate, "n": len(data["xs"])}

    @step
    def evaluate(model: dict) -> dict:
        return {"auc": 1.0 - abs(model["depth"] - 5) / 10, "n": model["n"]}

    @step
    def summary(scores: dict) -> dict:
        return {"auc": 0.0, "note": 1.0}

    @pipeline
    def toy(n: int = 10, depth: int = 2, rate: float = 0.1):
        scores = evaluate(train(ingest(n), depth=depth, rate=rate))
        summary(scores)
    """
)

MODEL = textwrap.dedent(
    """
    from loopml.pipeline import pipeline, step

    @step
    def ingest(n: int) -> dict:
        xs = [[float(i % 7), float(i % 3)] for i in range(n)]
        return {"x": xs, "y": [int(r[0] > 3) for r in xs]}

    @step
    def train(data: dict, c: float = 1.0):
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=c).fit(data["x"], data["y"])

    @step
    def evaluate(model, data: dict) -> dict:
        return {"acc": float(model.score(data["x"], data["y"])), "c": float(model.C)}

    @pipeline
    def churn(n: int = 40, c: float = 1.0):
        data = ingest(n)
        evaluate(train(data, c=c), data)
    """
)

SPACE = {"depth": {"type": "int", "low": 1, "high": 9}}


@pytest.fixture
def toy(project: Path) -> str:
    (project / "toy.py").write_text(TOY)
    return "toy.py:toy"


def test_each_trial_runs_the_pipeline_with_its_params(toy: str) -> None:
    result = tune(toy, SPACE, n_trials=5, executor="local", metric="auc", seed=0, pruner=None)
    assert [t.state for t in result.trials] == ["COMPLETE"] * 5
    for trial in result.trials:
        run = get_pipeline_run(trial.pipeline_run_id or "")
        assert run.status == "FINISHED" and run.params["depth"] == trial.params["depth"]
        # `auc` comes from the step named evaluate, not from the later summary step
        assert trial.value == pytest.approx(1.0 - abs(trial.params["depth"] - 5) / 10)
        # tune run > trial run > pipeline run > step runs
        assert loopml.get_run(run.run_id).parent_run_id == trial.run_id
        assert loopml.get_run(trial.run_id).parent_run_id == result.run_id
    trial_run = loopml.get_run(result.best_run_id)
    assert trial_run.tags["loopml.tune.pipeline_run"] == result.best_trial.pipeline_run_id
    assert trial_run.metrics["auc"] == pytest.approx(result.best_value)
    # a step's report() lands in the trial: its intermediate values are on the trial's run
    history = loopml.get_metric_history(result.best_run_id, "auc")
    assert [m.step for m in history if m.step < 3] == [0, 1, 2]


def test_a_named_step_and_fixed_params(toy: str, tmp_path: Path) -> None:
    space_file = tmp_path / "space.yaml"
    space_file.write_text("depth: {type: int, low: 4, high: 6}\n")
    result = tune(
        toy,
        space_file,
        n_trials=2,
        executor="local",
        metric="summary.note",
        params={"n": 3},
        seed=1,
    )
    assert {t.value for t in result.trials} == {1.0}
    run = get_pipeline_run(result.best_trial.pipeline_run_id or "")
    assert run.params["n"] == 3


def test_pipeline_mistakes_are_caught_before_any_trial(toy: str) -> None:
    with pytest.raises(InvalidParameterError, match="key 'width' is not a parameter of pipeline"):
        tune(toy, {"width": {"type": "int", "low": 1, "high": 2}}, executor="local", metric="auc")
    with pytest.raises(InvalidParameterError, match="key 'm' is not a parameter"):
        tune(toy, SPACE, executor="local", metric="auc", params={"m": 1})
    with pytest.raises(InvalidParameterError, match="needs metric="):
        tune(toy, SPACE, n_trials=3, executor="local")
    with pytest.raises(InvalidParameterError, match="no step of the pipeline returned a dict"):
        tune(toy, SPACE, n_trials=3, executor="local", metric="f1")
    with pytest.raises(InvalidParameterError, match="has no step 'score'"):
        tune(toy, SPACE, n_trials=3, executor="local", metric="score.auc")


def test_pruning_inside_a_pipeline_step(toy: str) -> None:
    result = tune(toy, SPACE, n_trials=12, executor="local", metric="auc", sampler="random", seed=4)
    assert "PRUNED" in {t.state for t in result.trials}


@pytest.mark.slow
def test_parallel_trials_in_worker_processes(toy: str) -> None:
    # no pruner: which trial the median pruner stops depends on which finished first
    result = tune(
        toy, SPACE, n_trials=4, parallel=2, executor="process", metric="auc", seed=3, pruner=None
    )
    assert [t.state for t in result.trials] == ["COMPLETE"] * 4
    assert all(
        get_pipeline_run(t.pipeline_run_id or "").status == "FINISHED" for t in result.trials
    )


@pytest.mark.slow
def test_the_best_trials_model_is_registered(project: Path) -> None:
    pytest.importorskip("sklearn")
    (project / "churn.py").write_text(MODEL)
    result = tune(
        "churn.py:churn",
        {"c": {"type": "float", "low": 0.01, "high": 10.0, "log": True}},
        n_trials=3,
        executor="local",
        metric="acc",
        seed=0,
    )
    version = result.register("churn")
    assert version.uri == "models:/churn/1"
    assert version.tags["loopml.tune.trial"] == str(result.best_trial.number)
    model = loopml.load_model(version.uri)
    assert model.predict([[6.0, 1.0]])[0] == 1
    run = get_pipeline_run(result.best_trial.pipeline_run_id or "")
    assert version.run_id == run.steps["train"].run_id
    from loopml.pipeline.lineage import lineage

    graph = lineage(version.uri)  # registered from the train step's run, not a register node
    assert graph.pipeline_run_id == run.id
    assert "train" in {n.get("name") for n in graph.of_kind("step")}
    assert {"src": f"step:{run.id}/train", "dst": version.uri} in graph.edges
    # a plain objective has no model to register
    plain = tune(
        lambda p: p["c"],
        {"c": {"type": "float", "low": 0, "high": 1}},
        n_trials=1,
        executor="local",
    )
    with pytest.raises(NotFoundError, match="produced no model package"):
        plain.register("churn")
