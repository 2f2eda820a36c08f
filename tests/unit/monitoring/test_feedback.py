"""Labels that arrive later join their windows by request id: accuracy, its drop against the
registered validation metric, slices and the bias check."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from loopml.errors import InvalidParameterError, NotFoundError
from loopml.monitoring import compute_windows, list_windows, record_feedback
from loopml.monitoring.feedback import read_labels_file
from loopml.monitoring.quality import baseline_metric
from tests.unit.monitoring.conftest import FEATURES, HOUR, T0, Served, log_requests, make_data


def _labels(frames: list[object], ids: list[str], flip: float = 0.0) -> list[dict[str, object]]:
    rng = np.random.default_rng(7)
    items = []
    for frame, rid in zip(frames, ids, strict=True):
        truth = frame["target"].to_numpy().copy()  # type: ignore[index]
        wrong = rng.random(truth.size) < flip
        truth[wrong] = 1 - truth[wrong]
        items.append({"request_id": rid, "label": truth.tolist()})
    return items


def test_labels_join_by_request_id_and_measure_the_drop(served: Served) -> None:
    (project := served.root)
    (project / "loopml.toml").write_text('[loopml]\n[monitor.churn-prod]\nslice_column = "plan"\n')
    import loopml

    loopml.configure(project)
    frames = [make_data(100, seed=i + 1) for i in range(6)]

    def body(frame: object) -> bytes:
        import orjson

        cols = [*FEATURES, "plan"]
        rows = frame[cols].to_numpy().tolist()  # type: ignore[index]
        return orjson.dumps({"dataframe_split": {"columns": cols, "data": rows}})

    ids = log_requests(served.deployment, frames, served.model, body=body)
    (window,) = compute_windows(served.deployment, "1h", now_ms=T0 + 2 * HOUR)
    assert window.accuracy is None and "quality" not in window.metrics
    assert window.metrics["slices"]["column"] == "plan"  # positive rate per plan, no labels needed
    # half the requests get labels now; labels are correct 60% of the time -> accuracy drops
    assert record_feedback(served.deployment, _labels(frames[:3], ids[:3], flip=0.4)) == 300
    compute_windows(served.deployment, "1h", now_ms=T0 + 2 * HOUR)  # joins, computes nothing new
    (window,) = list_windows(served.deployment, "1h")
    quality = window.metrics["quality"]
    assert quality["labels"] == 300 and quality["task"] == "classification"
    live = quality["accuracy"]
    expected = np.mean(
        [
            p == t
            for f, item in zip(frames[:3], _labels(frames[:3], ids[:3], flip=0.4), strict=True)
            for p, t in zip(served.model.predict(f[FEATURES]), item["label"], strict=True)
        ]
    )
    assert live == pytest.approx(expected)
    assert quality["baseline"]["accuracy"]["key"] == "val_accuracy"
    assert window.values["accuracy_drop"] == pytest.approx(
        quality["baseline"]["accuracy"]["value"] - live
    )
    assert window.values["accuracy_drop"] > 0.2
    assert set(quality["slices"]) == {"basic", "pro"}
    assert quality["bias"]["column"] == "plan" and quality["bias"]["accuracy_gap"] >= 0
    # the rest arrive, correct this time: the window is re-joined with every label
    record_feedback(served.deployment, _labels(frames[3:], ids[3:]))
    compute_windows(served.deployment, "1h", now_ms=T0 + 2 * HOUR)
    (window,) = list_windows(served.deployment, "1h")
    assert window.metrics["quality"]["labels"] == 600
    assert window.accuracy is not None and window.accuracy > live


def test_feedback_rows_replace_and_validate(served: Served, tmp_path: Path) -> None:
    ids = log_requests(served.deployment, [make_data(2, seed=1)], served.model)
    assert record_feedback(served.deployment, {"request_id": ids[0], "label": 1, "row": 1}) == 1
    assert record_feedback(served.deployment, [{"request_id": ids[0], "label": [0, 0]}]) == 2
    with pytest.raises(InvalidParameterError, match="request_id"):
        record_feedback(served.deployment, [{"label": 1}])
    with pytest.raises(InvalidParameterError, match="no label"):
        record_feedback(served.deployment, [{"request_id": "x"}])
    with pytest.raises(InvalidParameterError, match="row"):
        record_feedback(served.deployment, [{"request_id": "x", "label": 1, "row": -1}])
    with pytest.raises(NotFoundError):
        record_feedback("nope", [{"request_id": "x", "label": 1}])
    csv = tmp_path / "labels.csv"
    csv.write_text(f"request_id,label\n{ids[0]},1\n")
    assert read_labels_file(csv) == [{"request_id": ids[0], "label": 1}]
    bad = tmp_path / "bad.csv"
    bad.write_text("id,y\n1,2\n")
    with pytest.raises(InvalidParameterError, match="request_id and label"):
        read_labels_file(bad)


def test_baseline_metric_names() -> None:
    assert baseline_metric({"val_accuracy": 0.9}, "accuracy") == ("val_accuracy", 0.9)
    assert baseline_metric({"test_auc": 0.8, "auc": 0.7}, "auc") == ("auc", 0.7)
    assert baseline_metric({"loss": 1.0}, "accuracy") is None


def test_labels_and_rows_past_storable_integers_are_refused() -> None:
    from loopml.monitoring.feedback import feedback_rows

    with pytest.raises(InvalidParameterError, match="fit in 64 bits"):
        feedback_rows({"request_id": "r", "label": 2**70})
    with pytest.raises(InvalidParameterError, match="row must be an integer from 0"):
        feedback_rows({"request_id": "r", "label": 1, "row": 2**40})
    assert feedback_rows({"request_id": "r", "label": 2**62}) == [("r", 0, str(2**62))]
