"""The churn training pipeline: ingest -> validate -> split -> train -> evaluate -> register.

    loopml pipeline run pipelines/training.py:training
    loopml pipeline run pipelines/training.py:training -p dataset=data:/customers/1

``loopml quickstart`` wrote this file; the continuous-training policy ``[ct.churn]`` in
``loopml.toml`` runs it again whenever new customer data arrives, or the deployed model's
inputs drift, or its accuracy drops. Every step is cached by its code, its parameters and the
content of its inputs, so a re-run on the same data version reuses every output. The model is registered only when its
holdout AUC passes the gate; the CT controller then compares it with the champion on the
holdout (``split``'s second output), overall and per ``plan``.
"""

from __future__ import annotations

import pandas as pd
from sklearn.pipeline import Pipeline

import loopml
from loopml.pipeline import pipeline, register_if, step

TARGET = "churned"
PLANS = ["basic", "standard", "premium"]
NUMERIC = ["tenure_months", "monthly_charges", "support_calls", "usage_gb", "age"]


def schema() -> loopml.data.DataSchema:
    """What a customer table must look like (code, so a change here re-runs ``validate``)."""
    from loopml.data import ColumnSchema, DataSchema

    columns = {
        "tenure_months": ColumnSchema("tenure_months", "integer", nullable=False, min=0, max=600),
        "monthly_charges": ColumnSchema("monthly_charges", "float", nullable=False, min=0.0),
        "support_calls": ColumnSchema("support_calls", "integer", nullable=False, min=0),
        "usage_gb": ColumnSchema("usage_gb", "float", nullable=False, min=0.0),
        "age": ColumnSchema("age", "integer", nullable=False, min=16, max=120),
        "plan": ColumnSchema("plan", "string", nullable=False, categories=PLANS),
        TARGET: ColumnSchema(TARGET, "integer", nullable=False, min=0, max=1),
    }
    return DataSchema(columns, min_rows=200)


@step
def ingest(dataset: str = "data:/customers@latest") -> pd.DataFrame:
    """Read a version of the customer table. The pipeline resolves ``@latest`` to a version
    before it runs, keys the cache on its content and links it to the registered model."""
    frame: pd.DataFrame = loopml.data.read_table(dataset)
    return frame


@step
def validate(df: pd.DataFrame) -> pd.DataFrame:
    """Stop the run (DataValidationError) when the table breaks its schema."""
    loopml.data.validate(df, schema()).raise_if_failed()
    return df


@step
def split(
    df: pd.DataFrame, test_size: float = 0.2, seed: int = 7
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A stratified train/holdout split; the holdout keeps the label and the ``plan`` slice."""
    from sklearn.model_selection import train_test_split

    train_df, test_df = train_test_split(
        df, test_size=test_size, random_state=seed, stratify=df[TARGET]
    )
    return train_df.reset_index(drop=True), test_df.reset_index(drop=True)


@step
def train(
    train_df: pd.DataFrame,
    n_estimators: int = 100,
    max_depth: int = 3,
    learning_rate: float = 0.1,
    seed: int = 7,
) -> Pipeline:
    """Gradient-boosted trees behind a one-hot encoding of ``plan``: one object to package
    and serve."""
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    encode = make_column_transformer(
        (OneHotEncoder(categories=[PLANS], handle_unknown="ignore"), ["plan"]),
        remainder="passthrough",
    )
    boosting = GradientBoostingClassifier(
        n_estimators=n_estimators,
        max_depth=max_depth,
        learning_rate=learning_rate,
        random_state=seed,
    )
    model = make_pipeline(encode, boosting)
    model.fit(train_df[[*NUMERIC, "plan"]], train_df[TARGET])
    return model


@step
def evaluate(model: Pipeline, test_df: pd.DataFrame) -> dict[str, float]:
    """Holdout AUC and accuracy, overall and per plan (a model can fail one slice)."""
    from sklearn.metrics import accuracy_score, roc_auc_score

    scores = model.predict_proba(test_df[[*NUMERIC, "plan"]])[:, 1]
    truth = test_df[TARGET]
    metrics = {
        "auc": float(roc_auc_score(truth, scores)),
        "accuracy": float(accuracy_score(truth, scores >= 0.5)),
        "churn_rate": float(truth.mean()),
    }
    for plan, rows in test_df.groupby("plan"):
        part = truth[rows.index]
        metrics[f"accuracy_plan_{plan}"] = float(accuracy_score(part, scores[rows.index] >= 0.5))
    return metrics


@pipeline
def training(
    dataset: str = "data:/customers@latest",
    test_size: float = 0.2,
    n_estimators: int = 100,
    max_depth: int = 3,
    learning_rate: float = 0.1,
    seed: int = 7,
    model_name: str = "churn",
    min_auc: float = 0.7,
) -> None:
    df = validate(ingest(dataset))
    train_df, test_df = split(df, test_size=test_size, seed=seed)
    model = train(
        train_df,
        n_estimators=n_estimators,
        max_depth=max_depth,
        learning_rate=learning_rate,
        seed=seed,
    )
    metrics = evaluate(model, test_df)
    register_if(
        model,
        name=model_name,
        metrics=metrics,
        gate=f"metrics['auc'] >= {min_auc}",
        input_example=test_df,  # gives the package a signature: serving and monitoring use it
    )
