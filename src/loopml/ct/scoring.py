"""Scoring a model package on a holdout table: one metric overall and per slice.

Both the candidate and the champion are scored here, by the same code on the same rows, so the
comparison a gate makes is between two numbers that differ only by the model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from loopml.errors import InvalidParameterError

__all__ = ["Scores", "infer_label", "score"]

_PROBA = frozenset({"auc", "logloss"})


@dataclass(frozen=True)
class Scores:
    overall: float
    rows: int
    slices: dict[str, tuple[float | None, int]]  # slice value -> (metric or None, rows)


def input_names(model: Any) -> list[str] | None:
    """The model's input columns: from its signature, else from the estimator itself
    (``feature_names_in_``, for packages logged without an input example)."""
    signature = model.signature
    if signature is not None and signature.inputs.kind == "columns":
        return list(signature.inputs.names)
    names = getattr(model.raw_model, "feature_names_in_", None)
    return None if names is None else [str(n) for n in names]


def features(model: Any, frame: Any) -> Any:
    """Only the columns the model takes, when it says which (extra columns confuse some)."""
    names = input_names(model)
    if names is None or not set(names) <= {str(c) for c in frame.columns}:
        return frame
    return frame[names]


def infer_label(holdout: Any, model: Any, label: str | None) -> str:
    """``label`` if given, else the one holdout column that is not a model input."""
    columns = [str(c) for c in holdout.columns]
    if label is not None:
        if label not in columns:
            raise InvalidParameterError(
                f"the holdout has no label column {label!r} (columns: {', '.join(columns)})",
                label=label,
            )
        return label
    inputs = set(input_names(model) or ())
    extra = [c for c in columns if c not in inputs]
    if len(extra) != 1:
        raise InvalidParameterError(
            "cannot tell the label column of the holdout: columns that are not model inputs "
            f'are {extra or "none"}; set `label = "..."` in the policy'
        )
    return extra[0]


def _value(metric: str, y: Any, model: Any, x: Any) -> float | None:
    import numpy as np
    from sklearn import metrics as m

    y = np.asarray(y)
    if metric in _PROBA and "predict_proba" in model.methods:
        proba = np.asarray(model.predict(x, method="predict_proba"), dtype=float)
        if len(np.unique(y)) < 2:
            return None  # AUC and log loss need both classes in the rows
        if metric == "logloss":
            return float(m.log_loss(y, proba, labels=np.unique(y) if proba.ndim == 1 else None))
        if proba.ndim == 2 and proba.shape[1] == 2:
            return float(m.roc_auc_score(y, proba[:, 1]))
        return float(m.roc_auc_score(y, proba, multi_class="ovr"))
    pred = np.asarray(model.predict(x))
    if pred.ndim == 2 and pred.shape[1] == 1:
        pred = pred[:, 0]
    if metric == "auc":
        if len(np.unique(y)) < 2:
            return None
        return float(m.roc_auc_score(y, pred))
    if metric == "accuracy":
        return float(m.accuracy_score(y, pred))
    if metric in ("f1", "precision", "recall"):
        fn = {"f1": m.f1_score, "precision": m.precision_score, "recall": m.recall_score}[metric]
        average = "binary" if len(np.unique(y)) <= 2 else "macro"
        return float(fn(y, pred, average=average, zero_division=0))
    if metric == "rmse":
        return float(math.sqrt(m.mean_squared_error(y, pred)))
    if metric == "mae":
        return float(m.mean_absolute_error(y, pred))
    if metric == "r2":
        return float(m.r2_score(y, pred)) if len(y) > 1 else None
    raise InvalidParameterError(f"unknown metric {metric!r}")


def score(
    model: Any, holdout: Any, label: str, metric: str, slice_column: str | None = None
) -> Scores:
    """``metric`` of ``model`` on ``holdout`` (a DataFrame holding ``label``), overall and per
    value of ``slice_column``."""
    if len(holdout) == 0:
        raise InvalidParameterError("the holdout has no rows: nothing to compare the models on")
    x = features(model, holdout.drop(columns=[label]))
    y = holdout[label]
    overall = _value(metric, y, model, x)
    if overall is None:
        raise InvalidParameterError(
            f"{metric} is undefined on this holdout (one class only in {len(holdout)} rows)"
        )
    slices: dict[str, tuple[float | None, int]] = {}
    if slice_column is not None:
        if slice_column not in holdout.columns:
            raise InvalidParameterError(
                f"the holdout has no slice column {slice_column!r}", column=slice_column
            )
        for value, rows in holdout.groupby(slice_column, dropna=False, sort=True):
            key = value[0] if isinstance(value, tuple) else value
            slices[str(key)] = (
                _value(metric, rows[label], model, features(model, rows.drop(columns=[label]))),
                len(rows),
            )
    return Scores(overall, len(holdout), slices)
