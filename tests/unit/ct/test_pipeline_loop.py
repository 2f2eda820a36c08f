"""The controller with the real pipeline runner: a policy's pipeline file trains on the newest
dataset version, registers with register_if, and the candidate is gated on the split step's
holdout; bad data stops at data validation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import loopml
import loopml.data
from loopml.ct import Controller
from loopml.ct.policy import parse_policy
from loopml.serving.deployments import deployment_store, get_deployment
from loopml.store.metadata.deployments_base import RouteCounter
from tests.unit.ct.support import make_table

PIPELINE = """
import pandas as pd
from sklearn.tree import DecisionTreeClassifier

import loopml
from loopml.errors import DataValidationError
from loopml.pipeline import pipeline, register_if, step

FEATURES = ["x1", "x2", "pro"]


@step
def load(dataset: str) -> pd.DataFrame:
    df = loopml.data.read_table(dataset)
    if df[FEATURES].isna().any().any():
        raise DataValidationError("the table has missing feature values")
    return df


@step
def split(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    cut = int(len(df) * 2 / 3)
    return df.iloc[:cut].reset_index(drop=True), df.iloc[cut:].reset_index(drop=True)


@step
def train(train_df: pd.DataFrame, depth: int = 6) -> DecisionTreeClassifier:
    model = DecisionTreeClassifier(max_depth=depth, random_state=0)
    return model.fit(train_df[FEATURES], train_df["label"])


@step
def evaluate(model: DecisionTreeClassifier, test_df: pd.DataFrame) -> dict:
    from sklearn.metrics import roc_auc_score

    scores = model.predict_proba(test_df[FEATURES])[:, 1]
    return {"auc": float(roc_auc_score(test_df["label"], scores))}


@pipeline
def training(dataset: str = "data:/customers@latest", depth: int = 6):
    df = load(dataset)
    train_df, test_df = split(df)
    model = train(train_df, depth=depth)
    metrics = evaluate(model, test_df)
    register_if(model, name="churn", metrics=metrics, gate="metrics['auc'] >= 0.5")
"""


def _add_data(project: Path, table: object) -> None:
    path = project / "customers.parquet"
    table.to_parquet(path, index=False)  # type: ignore[attr-defined]
    loopml.data.add(path, name="customers")


@pytest.mark.slow
def test_new_data_retrains_through_the_pipeline(project: Path) -> None:
    (project / "pipelines").mkdir()
    (project / "pipelines" / "training.py").write_text(PIPELINE)
    raw = {
        "pipeline": "pipelines/training.py:training",
        "deployment": "churn-prod",
        "triggers": [{"new_data": "customers"}, {"manual": True}],
        "gates": {"min_improvement": 0.0, "max_slice_regression": 0.05, "slice_column": "plan"},
        "rollout": {"canary_weight": 20, "min_requests": 10, "max_error_rate": 0.05},
        "label": "label",
        "params": {"dataset": "data:/customers@latest", "depth": 2},
    }
    policy = parse_policy("churn", raw)
    _add_data(project, make_table(900, seed=1))
    c = Controller([policy], alerts=None)
    c.trigger("churn", "first model")
    c.run_once()
    first = c.runs("churn")[0]
    assert first.state == "promoted", first.outcome  # no champion: promoted directly
    assert first.pipeline_run_id and first.data["params"]["dataset"] == "data:/customers/1"
    assert get_deployment("churn-prod").config["routes"][0]["model"] == "models:/churn@champion"
    package = next(d for d in c.history("churn") if d.numbers.get("gate") == "package")
    assert package.outcome == "pass"

    # new data and a deeper tree: a better candidate, gated on the same holdout rows
    _add_data(project, make_table(1200, seed=2))
    better = parse_policy("churn", {**raw, "params": {**raw["params"], "depth": 6}})
    c.policies["churn"] = better
    c.run_once()
    second = c.runs("churn")[0]
    assert second.state == "rolling_out", second.outcome
    assert second.data["params"]["dataset"] == "data:/customers/2"
    assert second.champion == "models:/churn/1" and second.candidate == "models:/churn/2"
    improvement = next(
        d
        for d in c.history("churn")
        if d.run_id == second.run_id and d.numbers.get("gate") == "improvement"
    )
    assert improvement.numbers["rows"] == 400  # the split step's test frame of v2
    deployment_store().add_counters(
        "churn-prod", [RouteCounter("canary", "models:/churn/2", 10, 0, 30.0)]
    )
    c.run_once()
    assert c.runs("churn")[0].state == "promoted"
    assert loopml.get_model_version("models:/churn@champion").version == 2

    # data with holes stops at validation: rejected, the champion stays
    broken = make_table(600, seed=3)
    broken.loc[np.arange(0, 600, 7), "x1"] = np.nan
    _add_data(project, broken)
    c.run_once()
    third = c.runs("churn")[0]
    assert third.state == "rejected"
    assert "data validation failed" in (third.outcome or "")
    assert "missing feature values" in (third.outcome or "")
    assert loopml.get_model_version("models:/churn@champion").version == 2
    c.close()
