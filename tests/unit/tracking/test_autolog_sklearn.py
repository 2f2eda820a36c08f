"""scikit-learn autologging against a real project."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import loopml

sklearn = pytest.importorskip("sklearn")


@pytest.fixture
def autolog(project: Path) -> Iterator[None]:
    import loopml.sklearn

    loopml.sklearn.autolog()
    yield
    loopml.sklearn.autolog(disable=True)


def test_fit_inside_a_run_logs_params_score_and_duration(autolog: None) -> None:
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier

    X, y = load_iris(return_X_y=True)
    with loopml.start_run() as run:
        RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0).fit(X, y)
    got = loopml.get_run(run.run_id)
    assert got.params["n_estimators"] == "5" and got.params["max_depth"] == "3"
    assert 0.8 < got.metrics["training_score"] <= 1.0
    assert got.metrics["fit_duration_s"] > 0
    assert got.tags["loopml.autolog.estimator_name"] == "RandomForestClassifier"


def test_fit_outside_a_run_gets_its_own_run_and_pipeline_logs_once(autolog: None) -> None:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_iris(return_X_y=True)
    make_pipeline(StandardScaler(), LogisticRegression(max_iter=300)).fit(X, y)
    runs = loopml.search_runs()
    assert len(runs) == 1
    run = runs[0]
    assert str(run.status) == "FINISHED"
    assert run.tags["loopml.autolog.estimator_name"] == "Pipeline"
    assert run.params["logisticregression__max_iter"] == "300"
    assert len(loopml.get_metric_history(run.run_id, "fit_duration_s")) == 1


def test_disable_restores_plain_fit(project: Path) -> None:
    from sklearn.linear_model import LinearRegression

    import loopml.sklearn

    loopml.sklearn.autolog()
    loopml.sklearn.autolog(disable=True)
    LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0])
    assert len(loopml.search_runs()) == 0
