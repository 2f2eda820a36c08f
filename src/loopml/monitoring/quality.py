"""Model quality once labels arrive: accuracy and AUC, or RMSE and MAE, per window and slice.

Labels come by request id (and row, for requests with several rows). A window keeps a small
snapshot of its predictions, so joining labels never re-reads the payload log. The change is
measured against the metric recorded when the version was registered (its run's validation
metrics), e.g. ``accuracy_drop = recorded accuracy - live accuracy``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import orjson

__all__ = ["baseline_metric", "quality_metrics"]

_ALIASES = {
    "accuracy": ("accuracy", "acc"),
    "auc": ("auc", "roc_auc", "auroc"),
    "rmse": ("rmse", "root_mean_squared_error"),
    "mae": ("mae", "mean_absolute_error"),
}
_PREFIXES = ("", "val_", "validation_", "test_", "eval_", "holdout_")
MAX_CLASSES = 20


def baseline_metric(recorded: dict[str, float], metric: str) -> tuple[str, float] | None:
    """The registration-time value of ``metric`` (``accuracy`` also finds ``val_accuracy``,
    ``test_acc`` ...), as ``(key, value)``."""
    lowered = {k.lower(): (k, v) for k, v in recorded.items()}
    for prefix in _PREFIXES:
        for alias in _ALIASES.get(metric, (metric,)):
            found = lowered.get(f"{prefix}{alias}")
            if found is not None and math.isfinite(found[1]):
                return found
    return None


def quality_metrics(
    snapshot: Any,
    labels: list[tuple[str, int, str]],
    recorded: dict[str, float],
    slice_column: str | None = None,
) -> dict[str, Any] | None:
    """Quality of the snapshot's predictions that have a label, or None if none has one."""
    import pandas as pd

    if not labels:
        return None
    frame = snapshot.to_pandas()
    frame["request_id"] = frame["request_id"].astype(str)
    truth = pd.DataFrame(
        {
            "request_id": [r for r, _, _ in labels],
            "row": np.asarray([w for _, w, _ in labels], dtype=np.int32),
            "truth": [orjson.loads(v) for _, _, v in labels],
        }
    )
    joined = frame.merge(truth, on=["request_id", "row"], how="inner")
    if joined.empty:
        return None
    truth_values = joined["truth"].to_numpy(dtype=object)
    classification = _is_classification(joined, truth_values)
    out: dict[str, Any] = {
        "labels": len(joined),
        "task": "classification" if classification else "regression",
    }
    if classification:
        out.update(_classification(joined, truth_values))
    else:
        out.update(_regression(joined, truth_values))
    _against_baseline(out, recorded)
    if slice_column is not None and "slice" in joined.columns:
        out["slices"] = _slices(joined, truth_values, classification)
        if classification and out["slices"]:
            accs = [s["accuracy"] for s in out["slices"].values()]
            rates = [s["positive_rate"] for s in out["slices"].values()]
            out["bias"] = {
                "column": slice_column,
                "accuracy_gap": max(accs) - min(accs),
                "positive_rate_gap": max(rates) - min(rates),
            }
    return out


def _is_classification(joined: Any, truth: Any) -> bool:
    if "label" in joined.columns or "score" in joined.columns:
        return True
    if any(isinstance(v, str | bool) for v in truth[:1000]):
        return True
    try:
        numbers = truth.astype(np.float64)
    except (TypeError, ValueError):
        return True
    integral = bool(np.all(np.mod(numbers, 1) == 0))
    return integral and np.unique(numbers).size <= MAX_CLASSES


def _as_text(values: Any) -> Any:
    out = []
    for v in values:
        if isinstance(v, bool):
            out.append("1" if v else "0")
        elif isinstance(v, float) and v.is_integer():
            out.append(str(int(v)))
        else:
            out.append(str(v))
    return np.asarray(out, dtype=object)


def _predicted_text(joined: Any) -> Any:
    if "label" in joined.columns:
        return _as_text(joined["label"].tolist())
    return _as_text(joined["value"].tolist())


def _classification(joined: Any, truth: Any) -> dict[str, Any]:
    predicted = _predicted_text(joined)
    actual = _as_text(truth.tolist())
    out: dict[str, Any] = {"accuracy": float(np.mean(predicted == actual))}
    positive = actual == "1"
    if "score" in joined.columns and positive.any() and (~positive).any():
        out["auc"] = _auc(joined["score"].to_numpy(dtype=np.float64), positive)
    out["positive_rate"] = float(np.mean(predicted == "1"))
    return out


def _auc(scores: Any, positive: Any) -> float:
    """Area under the ROC curve via the Mann-Whitney rank sum (ties get average ranks)."""
    from scipy.stats import rankdata

    keep = ~np.isnan(scores)
    scores, positive = scores[keep], positive[keep]
    ranks = rankdata(scores)
    n_pos = int(positive.sum())
    n_neg = int(positive.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        return math.nan
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _regression(joined: Any, truth: Any) -> dict[str, Any]:
    predicted = joined["value"].to_numpy(dtype=np.float64)
    actual = truth.astype(np.float64)
    keep = ~(np.isnan(predicted) | np.isnan(actual))
    err = predicted[keep] - actual[keep]
    if err.size == 0:
        return {}
    return {"rmse": float(np.sqrt(np.mean(err**2))), "mae": float(np.mean(np.abs(err)))}


def _against_baseline(out: dict[str, Any], recorded: dict[str, float]) -> None:
    baseline: dict[str, Any] = {}
    for metric, change in (("accuracy", "accuracy_drop"), ("auc", "auc_drop")):
        found = baseline_metric(recorded, metric) if metric in out else None
        if found is not None:
            baseline[metric] = {"key": found[0], "value": found[1]}
            out[change] = found[1] - out[metric]
    for metric, change in (("rmse", "rmse_increase"), ("mae", "mae_increase")):
        found = baseline_metric(recorded, metric) if metric in out else None
        if found is not None:
            baseline[metric] = {"key": found[0], "value": found[1]}
            out[change] = out[metric] - found[1]
    out["baseline"] = baseline


def _slices(joined: Any, truth: Any, classification: bool) -> dict[str, dict[str, float]]:
    keys = joined["slice"].astype(str).to_numpy()
    out: dict[str, dict[str, float]] = {}
    predicted = _predicted_text(joined) if classification else None
    actual = _as_text(truth.tolist()) if classification else None
    for key in np.unique(keys).tolist():
        mask = keys == key
        if classification:
            assert predicted is not None and actual is not None
            out[key] = {
                "labels": float(mask.sum()),
                "accuracy": float(np.mean(predicted[mask] == actual[mask])),
                "positive_rate": float(np.mean(predicted[mask] == "1")),
            }
        else:
            part = _regression(joined[mask], truth[mask])
            out[key] = {"labels": float(mask.sum()), **part}
    return out
