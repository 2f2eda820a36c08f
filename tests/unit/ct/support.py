"""Real models for controller tests: trained with scikit-learn, logged and registered through
loopml, on a churn-like table whose label depends on ``x1`` for plan "basic" and on ``x2`` for
plan "pro" (so a model can be good overall yet bad on one plan)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

import loopml
from loopml.ct.policy import Policy
from loopml.ct.training import TrainResult

FEATURES = ["x1", "x2", "pro"]


def make_table(n: int = 1200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    pro = rng.integers(0, 2, size=n)
    signal = np.where(pro == 1, x2, x1) + rng.normal(scale=0.5, size=n)
    return pd.DataFrame(
        {
            "x1": x1,
            "x2": x2,
            "pro": pro,
            "plan": np.where(pro == 1, "pro", "basic"),
            "label": (signal > 0).astype(int),
        }
    )


def fit(kind: str, table: pd.DataFrame) -> Any:
    """``good``: sees both plans; ``bad``: labels shuffled; ``basic_only``: trained on basic
    rows (fine on basic, poor on pro); ``ok``: a shallower good model."""
    from sklearn.tree import DecisionTreeClassifier

    rows = table
    y = table["label"].to_numpy()
    if kind == "basic_only":
        rows = table[table["plan"] == "basic"]
        y = rows["label"].to_numpy()
    if kind == "bad":
        y = np.random.default_rng(7).permutation(y)
    depth = {"good": 6, "ok": 2, "bad": 6, "basic_only": 6}[kind]
    return DecisionTreeClassifier(max_depth=depth, random_state=0).fit(rows[FEATURES], y)


def log_and_register(kind: str, table: pd.DataFrame, name: str = "churn") -> str:
    model = fit(kind, table)
    with loopml.start_run() as run:
        loopml.log_model(model, "model", input_example=table[FEATURES].head(3))
    version = loopml.register_model(f"runs:/{run.run_id}/model", name)
    return f"models:/{name}/{version.version}"


@dataclass
class DirectTrainer:
    """Trains the kind named by the ``kind`` parameter and registers it; the holdout is the
    last 400 rows of the table (with ``plan`` and ``label``). Stands in for a pipeline run with
    the same contract: registered URIs and a holdout by run id."""

    table: pd.DataFrame = field(default_factory=make_table)
    calls: int = 0
    fail: str | None = None

    def train(self, policy: Policy, params: dict[str, Any]) -> TrainResult:
        self.calls += 1
        if self.fail == "validation":
            return TrainResult(
                "FAILED",
                "p-fail",
                error="DataValidationError: column x1 has nulls",
                validation_failed=True,
            )
        if self.fail:
            return TrainResult("FAILED", "p-fail", error=self.fail)
        uri = log_and_register(str(params.get("kind", "good")), self.table.iloc[:800])
        return TrainResult("FINISHED", f"p-{self.calls}", registered=[uri])

    def holdout(self, policy: Policy, pipeline_run_id: str | None) -> Any:
        return self.table.iloc[800:].reset_index(drop=True)
