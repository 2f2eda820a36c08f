"""Quality metrics of a window snapshot joined with labels: classification and regression."""

from __future__ import annotations

import numpy as np
import orjson
import pyarrow as pa
import pytest

from loopml.monitoring.quality import quality_metrics


def _snapshot(
    values: list[float], score: list[float] | None = None, slices: list[str] | None = None
) -> pa.Table:
    n = len(values)
    columns = {
        "request_id": pa.DictionaryArray.from_arrays(
            pa.array([0] * n, pa.int32()), pa.array(["r"])
        ),
        "row": pa.array(list(range(n)), pa.int32()),
        "value": pa.array(values, pa.float64()),
    }
    if score is not None:
        columns["score"] = pa.array(score, pa.float64())
    if slices is not None:
        columns["slice"] = pa.array(slices)
    return pa.table(columns)


def _labels(values: list[object]) -> list[tuple[str, int, str]]:
    return [("r", i, orjson.dumps(v).decode()) for i, v in enumerate(values)]


def test_regression_rmse_mae_and_their_increase() -> None:
    predicted = [1.0, 2.0, 3.5, 10.25]
    truth = [1.5, 2.0, 3.0, 9.0]
    out = quality_metrics(_snapshot(predicted), _labels(truth), {"val_rmse": 0.5, "mae": 0.1})
    assert out is not None and out["task"] == "regression"
    err = np.array(predicted) - np.array(truth)
    assert out["rmse"] == pytest.approx(float(np.sqrt(np.mean(err**2))))
    assert out["mae"] == pytest.approx(float(np.mean(np.abs(err))))
    assert out["rmse_increase"] == pytest.approx(out["rmse"] - 0.5)
    assert out["mae_increase"] == pytest.approx(out["mae"] - 0.1)


def test_classification_auc_slices_and_bias() -> None:
    scores = [0.9, 0.8, 0.3, 0.2, 0.7, 0.4]
    predicted = [1.0 if s >= 0.5 else 0.0 for s in scores]
    truth = [1, 1, 0, 0, 0, 1]
    slices = ["a", "a", "a", "b", "b", "b"]
    out = quality_metrics(
        _snapshot(predicted, scores, slices), _labels(truth), {"test_auc": 0.95}, "plan"
    )
    assert out is not None and out["task"] == "classification"
    assert out["accuracy"] == pytest.approx(4 / 6)
    # 9 (positive, negative) pairs: 0.9 and 0.8 beat all three negatives, 0.4 beats two
    assert out["auc"] == pytest.approx(8 / 9)
    assert out["auc_drop"] == pytest.approx(0.95 - 8 / 9)
    assert out["slices"]["a"]["accuracy"] == 1.0 and out["slices"]["b"][
        "accuracy"
    ] == pytest.approx(1 / 3)
    assert out["bias"] == {
        "column": "plan",
        "accuracy_gap": pytest.approx(2 / 3),
        "positive_rate_gap": pytest.approx(1 / 3),
    }


def test_no_matching_labels_is_none() -> None:
    assert quality_metrics(_snapshot([1.0]), [("other", 0, "1")], {}) is None
    assert quality_metrics(_snapshot([1.0]), [], {}) is None
