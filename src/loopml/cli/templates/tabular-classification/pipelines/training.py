"""The training pipeline: ingest -> validate -> prepare -> train -> evaluate -> register.

    loopml pipeline run pipelines/training.py:training --config params.yaml
    loopml pipeline run pipelines/training.py:training -p n_estimators=300

Every step is cached by its code, its parameters and the content of its inputs: run it twice and
the second run re-uses every output; change ``n_estimators`` and only train, evaluate and
register run again. The model is registered only when it passes the gate (holdout AUC and the
worst slice's accuracy). Lineage runs from the registered model version back to the dataset
version ``validate`` read.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sklearn.ensemble import RandomForestClassifier

import loopml
from loopml.pipeline import pipeline, register_if, step

PROJECT = Path(__file__).resolve().parent.parent
TARGET = "target"
SLICE = "size"  # a categorical column made by `prepare`: metrics are reported per value


def raw_schema() -> loopml.data.DataSchema:
    """The contract the raw table must meet (code, so a change here re-runs `validate`)."""
    from loopml.data import ColumnSchema, DataSchema

    features = [
        f"{kind} {name}"
        for kind in ("mean", "worst")
        for name in ("radius", "texture", "perimeter", "area", "smoothness", "compactness")
    ]
    columns = {
        name: ColumnSchema(name, "float", nullable=False, min=0.0, max=5000.0) for name in features
    }
    columns[TARGET] = ColumnSchema(TARGET, "integer", nullable=False, min=0, max=1)
    # extra_columns="allow": the other measurements are used as they come.
    return DataSchema(columns, min_rows=100, extra_columns="allow")


@step
def ingest(dataset: str = "breast-cancer") -> str:
    """Version the source table as dataset ``dataset`` and return the version's URI.

    Adding content identical to the latest version makes no new version. The source here never
    changes, so the step is cached like the others; for a source that does (a database, a
    bucket), use ``@step(cache=False)``: ``validate`` and what follows re-run only when the
    data really changed, because they are keyed on the version's content hash.
    """
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    folder = PROJECT / "data"
    folder.mkdir(exist_ok=True)
    path = folder / f"{dataset}.parquet"
    frame.to_parquet(path, index=False)
    version = loopml.data.add(path, name=dataset, message="scikit-learn's breast cancer table")
    return version.uri


def check_table(df: pd.DataFrame) -> None:
    """Raise DataValidationError when ``df`` breaks the schema (a plain function: testable)."""
    loopml.data.validate(df, raw_schema()).raise_if_failed()


@step
def validate(dataset: str) -> pd.DataFrame:
    """Read a dataset version and stop the run (DataValidationError) if it breaks its schema.

    ``dataset`` is a ``data:/`` URI: the pipeline pins ``@latest`` to a version before keying
    the step, so a new version of the data re-runs this step and everything after it.
    """
    df = loopml.data.read_table(dataset)
    check_table(df)
    return df


@step
def prepare(
    df: pd.DataFrame, test_size: float = 0.25, seed: int = 7
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Features (snake_case names, two ratios, a size band to slice by) and a stratified split."""
    from sklearn.model_selection import train_test_split

    out = df.rename(columns=lambda c: c.replace(" ", "_"))
    out["worst_to_mean_radius"] = out["worst_radius"] / out["mean_radius"]
    out["area_per_perimeter"] = out["mean_area"] / out["mean_perimeter"]
    out[SLICE] = pd.qcut(out["mean_radius"], 3, labels=["small", "medium", "large"]).astype(str)
    train, test = train_test_split(
        out, test_size=test_size, random_state=seed, stratify=out[TARGET]
    )
    return train.reset_index(drop=True), test.reset_index(drop=True)


def features_of(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=[TARGET, SLICE])


@step
def train(
    train_df: pd.DataFrame, n_estimators: int = 100, max_depth: int = 6, seed: int = 7
) -> RandomForestClassifier:
    model = RandomForestClassifier(
        n_estimators=n_estimators, max_depth=max_depth, random_state=seed, n_jobs=1
    )
    model.fit(features_of(train_df), train_df[TARGET])
    return model


@step
def evaluate(model: RandomForestClassifier, test_df: pd.DataFrame) -> dict[str, float]:
    """Holdout AUC and accuracy, and the same per size band (a model can fail one slice)."""
    from sklearn.metrics import accuracy_score, roc_auc_score

    scores = model.predict_proba(features_of(test_df))[:, 1]
    truth = test_df[TARGET]
    metrics = {
        "auc": float(roc_auc_score(truth, scores)),
        "accuracy": float(accuracy_score(truth, scores >= 0.5)),
    }
    for value, rows in test_df.groupby(SLICE):
        part = truth[rows.index]
        metrics[f"accuracy_{SLICE}_{value}"] = float(
            accuracy_score(part, scores[rows.index] >= 0.5)
        )
        if part.nunique() == 2:  # AUC needs both classes in the slice
            metrics[f"auc_{SLICE}_{value}"] = float(roc_auc_score(part, scores[rows.index]))
    metrics["worst_slice_accuracy"] = min(
        v for k, v in metrics.items() if k.startswith(f"accuracy_{SLICE}_")
    )
    return metrics


@pipeline
def training(
    dataset: str = "breast-cancer",
    test_size: float = 0.25,
    n_estimators: int = 100,
    max_depth: int = 6,
    seed: int = 7,
    model_name: str = "breast-cancer-classifier",
    min_auc: float = 0.95,
    min_slice_accuracy: float = 0.8,
) -> None:
    added = ingest(dataset)
    df = validate(f"data:/{dataset}@latest").after(added)
    train_df, test_df = prepare(df, test_size=test_size, seed=seed)
    model = train(train_df, n_estimators=n_estimators, max_depth=max_depth, seed=seed)
    metrics = evaluate(model, test_df)
    register_if(
        model,
        name=model_name,
        metrics=metrics,
        gate=f"metrics['auc'] >= {min_auc} and metrics['worst_slice_accuracy'] >= {min_slice_accuracy}",
        input_example=test_df,  # the package's signature and smoke-test rows (label trimmed)
    )
