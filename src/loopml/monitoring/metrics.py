"""The metrics of one window of one model version: traffic, skew, input and output drift.

Everything here is computed from the window's own rows plus the kept reference, once; labels
join later (``quality.py``). ``values`` holds the flat numbers alert rules read
(``drift_share``, ``error_rate``, ``latency_p99_ms``, ...); the rest is detail for reports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from loopml.monitoring.decode import Decoded, decode_inputs
from loopml.monitoring.outputs import Predictions, decode_outputs
from loopml.monitoring.reference import Reference

__all__ = ["WindowMetrics", "window_metrics"]

_NUMERIC_DTYPES = ("int", "uint", "float", "bool")


@dataclass
class WindowMetrics:
    metrics: dict[str, Any]
    snapshot: Any  # pyarrow.Table: request_id, row, value/label/score (+ slice column)


def window_metrics(
    payload: Any,
    reference: Reference | str,
    *,
    seconds: float,
    share: float = 0.5,
    slice_column: str | None = None,
) -> WindowMetrics:
    """Metrics of ``payload`` (the window's payload rows of one model version)."""
    n = int(payload.num_rows)
    status = payload.column("status").to_numpy()
    latency = payload.column("latency_ms").to_numpy()
    errors = int(np.count_nonzero(status >= 400))
    values: dict[str, float] = {
        "requests": float(n),
        "errors": float(errors),
        "error_rate": errors / n if n else 0.0,
        "throughput_rps": n / seconds if seconds > 0 else float(n),
    }
    for q in (50, 95, 99):
        values[f"latency_p{q}_ms"] = float(np.percentile(latency, q)) if n else 0.0
    ok = np.flatnonzero(status < 400)
    good = payload.take(ok) if errors else payload
    ref = reference if isinstance(reference, Reference) else None
    decoded = decode_inputs(
        good.column("inputs"),
        _column(good, "protocol"),
        _column(good, "content_type"),
        ref.features if ref else None,
        ref.dtypes if ref else None,
    )
    features, violations = _conform(decoded.features, ref)
    predictions = decode_outputs(
        good.column("outputs").to_pylist(), decoded.owner, decoded.position
    )
    values["rows"] = float(decoded.rows)
    skew = _skew(decoded, violations, ref)
    values["missing_share"] = skew["missing_share"]
    values["failed_requests"] = float(sum(decoded.failed.values()))
    metrics: dict[str, Any] = {"values": values, "skew": skew}
    if ref is None:
        metrics["reference"] = {"reason": str(reference)}
    else:
        metrics["reference"] = {
            "model_uri": ref.model_uri,
            "dataset_uri": ref.dataset_uri,
            "rows": int(ref.table.num_rows),
            "label_column": ref.label_column,
            "recorded": {k: v for k, v in ref.metrics.items() if math.isfinite(v)},
        }
        metrics["input_drift"] = _input_drift(ref, features, share)
        values["drift_share"] = metrics["input_drift"].get("share", 0.0)
        output = _output_drift(ref, predictions)
        if output is not None:
            metrics["output_drift"] = output
            values["output_drift"] = 1.0 if output["drifted"] else 0.0
            values["output_drift_value"] = output["value"]
    _prediction_summary(predictions, values)
    bias = _positive_rate_by_slice(features, predictions, slice_column)
    if bias is not None:
        metrics["slices"] = bias
        values["positive_rate_gap"] = bias["positive_rate_gap"]
    snapshot = _snapshot(good, decoded, predictions, features, slice_column)
    return WindowMetrics(metrics, snapshot)


def _column(table: Any, name: str) -> list[Any] | None:
    return table.column(name).to_pylist() if name in table.column_names else None


def _conform(features: Any, ref: Reference | None) -> tuple[Any, dict[str, int]]:
    """Cast features to what the signature says; values that cannot be cast are violations."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if ref is None:
        return features, {}
    violations: dict[str, int] = {}
    for name in ref.features:
        if name not in features.column_names:
            continue
        column = features.column(name)
        wanted = ref.dtypes.get(name, "")
        numeric = wanted.startswith(_NUMERIC_DTYPES)
        kind = column.type
        if numeric and (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            cast = _to_float(column)
            bad = int(cast.null_count - column.null_count)
            if bad:
                violations[name] = bad
            features = features.set_column(features.schema.get_field_index(name), name, cast)
        elif not numeric and (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
            ref_kind = ref.table.schema.field(name).type
            if pa.types.is_string(ref_kind) or pa.types.is_dictionary(ref_kind):
                features = features.set_column(
                    features.schema.get_field_index(name), name, pc.cast(column, pa.string())
                )
    return features, violations


def _to_float(column: Any) -> Any:
    import pandas as pd
    import pyarrow as pa

    values = pd.to_numeric(column.to_pandas(), errors="coerce")
    return pa.chunked_array([pa.array(values.to_numpy(dtype=np.float64), from_pandas=True)])


def _skew(decoded: Decoded, violations: dict[str, int], ref: Reference | None) -> dict[str, Any]:
    rows = max(decoded.rows, 1)
    expected = len(ref.features) if ref else max(len(decoded.features.column_names), 1)
    missing_cells = sum(decoded.missing.values())
    return {
        "failed_requests": dict(decoded.failed),
        "missing": dict(decoded.missing),
        "unexpected": dict(decoded.unexpected),
        "type_violations": violations,
        "missing_share": missing_cells / (rows * max(expected, 1)),
    }


SMALL_WINDOW = 500


def _input_drift(ref: Reference, features: Any, share: float) -> dict[str, Any]:
    from loopml.data import drift
    from loopml.errors import LoopmlError

    columns = [c for c in ref.features if c in features.column_names]
    if not columns or features.num_rows == 0:
        return {"share": 0.0, "columns": {}, "skipped": {"*": "no rows to test"}}
    # The default test follows the reference's size (Evidently's rule): past 1,000 reference
    # rows it is an effect size (Wasserstein >= 0.1 std) that sampling noise alone crosses in
    # a few hundred live rows (~18% of unshifted columns at 300 rows, ~4% at 500). Smaller
    # windows get KS, whose p-value accounts for their size (~3% at 300, real shifts found).
    tests = "ks" if features.num_rows < SMALL_WINDOW else None
    try:
        report = drift(
            reference=ref.samples, current=features.select(columns), share=share, tests=tests
        )
    except LoopmlError as exc:
        return {"share": 0.0, "columns": {}, "skipped": {"*": str(exc)}}
    return {
        "share": report.share,
        "dataset_drift": report.dataset_drift,
        "drifted": report.drifted_columns,
        "columns": {name: _clean(col.to_dict()) for name, col in report.columns.items()},
        "skipped": dict(report.skipped),
    }


def _output_drift(ref: Reference, predictions: Predictions) -> dict[str, Any] | None:
    import pyarrow as pa

    from loopml.data import drift

    table = ref.predictions
    if table is None:
        return None
    if predictions.numeric and "value" in table.column_names:
        current = pa.table({"prediction": predictions.value[~np.isnan(predictions.value)]})
        reference = pa.table({"prediction": table.column("value")})
    elif not predictions.numeric and "label" in table.column_names:
        labels = [v for v in predictions.label.tolist() if v is not None]
        current = pa.table({"prediction": pa.array(labels, pa.string())})
        reference = pa.table({"prediction": table.column("label")})
    else:
        return None
    if current.num_rows == 0 or reference.num_rows == 0:
        return None
    report = drift(reference=reference, current=current)
    return _clean(report.columns["prediction"].to_dict()) if report.columns else None


def _clean(col: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in col.items()
    }


def _prediction_summary(predictions: Predictions, values: dict[str, float]) -> None:
    if predictions.numeric and predictions.value.size:
        finite = predictions.value[~np.isnan(predictions.value)]
        if finite.size:
            values["prediction_mean"] = float(finite.mean())


def positive(predictions: Predictions) -> Any:
    """Whether each prediction is the positive class: 1/true, or the score above 0.5."""
    if predictions.score is not None:
        return predictions.score >= 0.5
    if predictions.numeric:
        return predictions.value == 1.0
    return np.asarray([str(v).lower() in ("1", "true", "yes") for v in predictions.label])


def _positive_rate_by_slice(
    features: Any, predictions: Predictions, slice_column: str | None
) -> dict[str, Any] | None:
    if slice_column is None or slice_column not in features.column_names:
        return None
    keys = np.asarray([str(v) for v in features.column(slice_column).to_pylist()], dtype=object)
    pos = positive(predictions)
    rates: dict[str, dict[str, float]] = {}
    for key in np.unique(keys).tolist():
        mask = keys == key
        rates[key] = {"rows": float(mask.sum()), "positive_rate": float(pos[mask].mean())}
    gap = max(r["positive_rate"] for r in rates.values()) - min(
        r["positive_rate"] for r in rates.values()
    )
    return {"column": slice_column, "values": rates, "positive_rate_gap": float(gap)}


def _snapshot(
    payload: Any,
    decoded: Decoded,
    predictions: Predictions,
    features: Any,
    slice_column: str | None,
) -> Any:
    """What a later label needs: request id, row, prediction (and the slice value)."""
    import pyarrow as pa

    ids = payload.column("request_id").combine_chunks()
    columns: dict[str, Any] = {
        "request_id": pa.DictionaryArray.from_arrays(pa.array(decoded.owner, pa.int32()), ids),
        "row": pa.array(decoded.position.astype(np.int32)),
        "value": pa.array(predictions.value, from_pandas=True),
    }
    if predictions.label is not None:
        columns["label"] = pa.array(predictions.label.tolist(), pa.string())
    if predictions.score is not None:
        columns["score"] = pa.array(predictions.score, from_pandas=True)
    if slice_column is not None and slice_column in features.column_names:
        columns["slice"] = pa.array(
            [None if v is None else str(v) for v in features.column(slice_column).to_pylist()],
            pa.string(),
        )
    return pa.table(columns)
