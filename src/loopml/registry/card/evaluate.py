"""What a model card measures on a dataset: permutation feature importance and per-slice metrics.

Importance is ``sklearn.inspection.permutation_importance`` with a scorer that only calls
``predict``, so it works for any loaded loopml model, not just scikit-learn estimators. The task
is read from the target: text, booleans or a few integer classes are classification (accuracy),
anything else regression (R², RMSE, MAE).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from loopml.errors import InvalidParameterError

MAX_CLASSES = 20


@dataclass
class Evaluation:
    task: str  # "classification" or "regression"
    rows: int
    metrics: dict[str, float]
    importance: list[dict[str, Any]] = field(default_factory=list)  # feature, mean, std
    slices: list[dict[str, Any]] = field(default_factory=list)  # value, rows, metrics...
    slice_column: str | None = None


def _task(y: Any) -> str:
    import pandas as pd

    kind = y.dtype.kind
    if kind in "OUSb" or isinstance(y.dtype, pd.CategoricalDtype):
        return "classification"
    if kind in "iu" and y.nunique() <= MAX_CLASSES:
        return "classification"
    return "regression"


def _predict(model: Any, features: Any) -> Any:
    import numpy as np

    out = model.predict(features)
    values = getattr(out, "to_numpy", None)
    arr = np.asarray(values() if callable(values) else out)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    return arr


def _scores(task: str, y_true: Any, y_pred: Any) -> dict[str, float]:
    import numpy as np

    y = np.asarray(y_true)
    if task == "classification":
        return {"accuracy": float(np.mean(y_pred.astype(y.dtype, copy=False) == y))}
    err = y_pred.astype(float) - y.astype(float)
    total = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(err**2)) / total if total > 0 else float("nan")
    return {
        "r2": r2,
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mae": float(np.mean(np.abs(err))),
    }


class _PredictOnly:
    """An estimator face for any model: permutation_importance only needs ``predict``."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def fit(self, features: Any, y: Any) -> _PredictOnly:  # pragma: no cover - never called
        return self

    def predict(self, features: Any) -> Any:
        return _predict(self.model, features)


def evaluate(
    model: Any,
    data: Any,
    target: str,
    *,
    slice_column: str | None = None,
    features: list[str] | None = None,
    repeats: int = 5,
    seed: int = 0,
) -> Evaluation:
    """Score ``model`` on ``data`` (a DataFrame holding ``target``), with importance and slices.

    ``features`` (the signature's input columns, when known) are the columns the model sees and
    the ones importance is computed for; by default every column but the target.
    """
    if target not in data.columns:
        raise InvalidParameterError(
            f"--target {target!r} is not a column of the data; columns: "
            + ", ".join(map(str, data.columns))
        )
    if slice_column is not None and slice_column not in data.columns:
        raise InvalidParameterError(
            f"--slice-column {slice_column!r} is not a column of the data; columns: "
            + ", ".join(map(str, data.columns))
        )
    if len(data) == 0:
        raise InvalidParameterError("the evaluation data has no rows")
    from sklearn.inspection import permutation_importance

    if features is not None:
        missing = [c for c in features if c not in data.columns]
        if missing:
            raise InvalidParameterError(
                "the evaluation data lacks the model's input column(s) " + ", ".join(missing)
            )
    columns = features if features is not None else [c for c in data.columns if c != target]
    y = data[target]
    features_frame = data[columns]
    task = _task(y)
    metric = "accuracy" if task == "classification" else "r2"
    metrics = _scores(task, y, _predict(model, features_frame))

    def scorer(estimator: Any, part: Any, y_: Any) -> float:
        return _scores(task, y_, estimator.predict(part))[metric]

    result = permutation_importance(
        _PredictOnly(model), features_frame, y, scoring=scorer, n_repeats=repeats, random_state=seed
    )
    importance: list[dict[str, Any]] = sorted(
        (
            {"feature": str(col), "mean": float(m), "std": float(s)}
            for col, m, s in zip(
                features_frame.columns, result.importances_mean, result.importances_std, strict=True
            )
        ),
        key=lambda row: -float(row["mean"]),
    )
    slices: list[dict[str, Any]] = []
    if slice_column is not None:
        for value, part in data.groupby(slice_column, dropna=False, sort=True):
            part_y = part[target]
            scores = _scores(task, part_y, _predict(model, part[columns]))
            slices.append({"value": str(value), "rows": len(part), **scores})
    return Evaluation(task, len(data), metrics, importance, slices, slice_column)


def read_table(path: Any) -> Any:
    """Evaluation data from a Parquet or CSV file."""
    from pathlib import Path

    import pandas as pd

    file = Path(path)
    if not file.is_file():
        raise InvalidParameterError(f"--data {file} does not exist (give a .parquet or .csv file)")
    if file.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(file)
    if file.suffix.lower() == ".csv":
        return pd.read_csv(file)
    raise InvalidParameterError(f"--data {file}: use a .parquet or .csv file")
