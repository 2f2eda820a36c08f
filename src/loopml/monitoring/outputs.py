"""Response bodies back into one prediction (and, for probabilities, one score) per row.

MLflow answers ``{"predictions": ...}`` (a list of values, of rows, of records, or an object of
columns); the Open Inference Protocol answers ``{"outputs": [tensors]}``. Class probabilities
(rows of k numbers) become the argmax class and, for two classes, the positive-class score that
AUC needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

__all__ = ["Predictions", "decode_outputs"]


@dataclass
class Predictions:
    """Per feature row: ``value`` (float, NaN if unknown) or ``label`` (text, for classes)."""

    value: Any  # float64 numpy
    label: Any  # object numpy of str | None, or None when every prediction is a number
    score: Any  # float64 numpy positive-class probability, or None

    @property
    def numeric(self) -> bool:
        return self.label is None


def decode_outputs(bodies: Any, owner: Any, position: Any) -> Predictions:
    """Predictions for feature rows (``owner`` request, ``position`` in it), NaN where the
    response is missing, unreadable or shorter than the request. ``bodies``: a list of
    bytes/str/None or an Arrow string column."""
    from loopml.monitoring.decode import _spans

    buf, spans = _spans(bodies)
    per_request: dict[int, tuple[Any, Any]] = {}
    texts = False
    for i in np.unique(owner).tolist():
        span = spans[i]
        if span is None:
            continue
        try:
            values, scores = _one(orjson.loads(buf[span[0] : span[1]]))
        except (orjson.JSONDecodeError, ValueError, TypeError, KeyError, IndexError):
            continue
        texts = texts or values.dtype.kind not in "biuf"
        per_request[i] = (values, scores)
    n = int(owner.shape[0])
    value = np.full(n, np.nan)
    label = np.full(n, None, dtype=object) if texts else None
    score = None
    if any(s is not None for _, s in per_request.values()):
        score = np.full(n, np.nan)
    starts = _group_starts(owner)
    for i, (start, stop) in starts.items():
        got = per_request.get(i)
        if got is None:
            continue
        values, scores = got
        pos = position[start:stop]
        ok = pos < values.shape[0]
        idx = np.arange(start, stop)[ok]
        picked = values[pos[ok]]
        if label is not None:
            label[idx] = [None if v is None else str(v) for v in picked.tolist()]
        if picked.dtype.kind in "biuf":
            value[idx] = picked.astype(np.float64)
        if score is not None and scores is not None:
            score[idx] = scores[pos[ok]]
    return Predictions(value, label, score)


def _group_starts(owner: Any) -> dict[int, tuple[int, int]]:
    """Contiguous runs of the same request in ``owner`` (decoding keeps a request's rows
    together)."""
    if owner.shape[0] == 0:
        return {}
    cuts = np.flatnonzero(np.diff(owner)) + 1
    starts = np.concatenate([[0], cuts])
    stops = np.concatenate([cuts, [owner.shape[0]]])
    return {int(owner[s]): (int(s), int(e)) for s, e in zip(starts, stops, strict=True)}


def _one(body: Any) -> tuple[Any, Any]:
    if isinstance(body, dict) and "outputs" in body and "predictions" not in body:
        tensors = body["outputs"]
        first = tensors[0]
        array = np.asarray(first["data"]).reshape(first["shape"])
        return _from_array(array)
    predictions = body["predictions"] if isinstance(body, dict) else body
    if isinstance(predictions, dict):  # columns: the first one is the prediction
        predictions = next(iter(predictions.values()))
    if predictions and isinstance(predictions[0], dict):  # records
        key = next(iter(predictions[0]))
        predictions = [row.get(key) for row in predictions]
    return _from_array(np.asarray(predictions))


def _from_array(array: Any) -> tuple[Any, Any]:
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim == 2 and array.dtype.kind in "f" and array.shape[1] >= 2:
        classes = np.argmax(array, axis=1)
        scores = array[:, 1] if array.shape[1] == 2 else None
        return classes.astype(np.float64), scores
    if array.ndim != 1:
        raise ValueError(f"predictions of shape {list(array.shape)}")
    if array.dtype.kind == "U":
        array = array.astype(object)
    return array, None
