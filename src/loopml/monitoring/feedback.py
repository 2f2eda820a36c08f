"""Ground truth that arrives later: labels by request id, joined into the stored windows.

``record_feedback`` takes ``{"request_id": ..., "label": ...}`` items (``"row"`` for one row of
a multi-row request; a list ``label`` gives one label per row). Joining is incremental: a window
whose labels are older than the newest feedback re-reads only its small prediction snapshot
and the labels of its own request ids.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson

from loopml.errors import InvalidParameterError
from loopml.monitoring import _stores
from loopml.monitoring.config import MonitorConfig, load_config
from loopml.monitoring.quality import quality_metrics

__all__ = ["feedback_rows", "read_labels_file", "record_feedback", "refresh_quality"]

MAX_ID = 128
LABEL_HORIZON_MS = 30 * 86_400_000
_QUALITY_VALUES = (
    "accuracy",
    "auc",
    "rmse",
    "mae",
    "accuracy_drop",
    "auc_drop",
    "rmse_increase",
    "mae_increase",
)


def record_feedback(deployment: str, items: Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> int:
    """Store labels for logged requests; returns how many (request, row) labels were written.

    Labels for the same request and row replace earlier ones, so re-sending a file is safe.
    """
    _stores.deployment_store().get_deployment(deployment)
    rows = feedback_rows(items)
    if not rows:
        return 0
    return _stores.monitoring_store().add_feedback(deployment, rows)


def feedback_rows(
    items: Mapping[str, Any] | Iterable[Mapping[str, Any]],
) -> list[tuple[str, int, str]]:
    """Checked ``(request_id, row, label as JSON)`` rows of feedback items."""
    if isinstance(items, Mapping):
        items = [items]
    rows: list[tuple[str, int, str]] = []
    for n, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise InvalidParameterError(
                f"feedback item {n} is not an object: send {{'request_id': ..., 'label': ...}}"
            )
        rid = item.get("request_id")
        if not isinstance(rid, str) or not rid or len(rid) > MAX_ID:
            raise InvalidParameterError(
                f"feedback item {n} needs a request_id (the X-Request-Id of the answer), "
                f"1-{MAX_ID} characters; got {rid!r}"
            )
        if "label" not in item:
            raise InvalidParameterError(f"feedback item {n} ({rid}) has no label")
        label = item["label"]
        start = item.get("row", 0)
        if isinstance(start, bool) or not isinstance(start, int) or not 0 <= start < 2**31:
            raise InvalidParameterError(
                f"feedback item {n}: row must be an integer from 0 to {2**31 - 1}"
            )
        labels = label if isinstance(label, list) else [label]
        for k, value in enumerate(labels):
            if isinstance(value, list | dict) or value is None:
                raise InvalidParameterError(
                    f"feedback item {n} ({rid}): a label is a number, a string or a boolean"
                )
            if isinstance(value, int) and not -(2**63) <= value < 2**63:
                raise InvalidParameterError(
                    f"feedback item {n} ({rid}): an integer label must fit in 64 bits"
                )
            rows.append((rid, start + k, orjson.dumps(value).decode()))
    return rows


def read_labels_file(path: str | Path) -> list[dict[str, Any]]:
    """Labels from a CSV (columns ``request_id``, ``label``, optional ``row``) or JSON file."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    file = Path(path)
    if not file.is_file():
        raise InvalidParameterError(f"no labels file {file}", path=str(file))
    data = file.read_bytes()
    if file.suffix.lower() in (".json", ".jsonl"):
        try:
            if file.suffix.lower() == ".jsonl":
                return [orjson.loads(line) for line in data.splitlines() if line.strip()]
            loaded = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise InvalidParameterError(f"{file} is not valid JSON: {exc}") from None
        return loaded if isinstance(loaded, list) else [loaded]
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            convert_options=pacsv.ConvertOptions(column_types={"request_id": pa.string()}),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise InvalidParameterError(f"{file} is not a readable CSV: {exc}") from None
    missing = {"request_id", "label"} - set(table.column_names)
    if missing:
        raise InvalidParameterError(
            f"{file} needs the columns request_id and label (missing {', '.join(sorted(missing))})"
        )
    rows: list[dict[str, Any]] = table.select(
        [c for c in ("request_id", "label", "row") if c in table.column_names]
    ).to_pylist()
    return rows


def refresh_quality(deployment: str, config: MonitorConfig | None = None) -> int:
    """Join labels that arrived since each window's last join; returns windows updated."""
    import pyarrow.parquet as pq

    store = _stores.monitoring_store()
    newest = store.last_feedback_ms(deployment)
    if newest is None:
        return 0
    config = config or load_config(deployment)
    objects = _stores.object_store()
    updated = 0
    latest = store.list_windows(deployment, limit=1)
    if not latest:
        return 0
    # windows that ended LABEL_HORIZON before the newest one are not re-joined any more
    horizon = latest[0].end_ms - LABEL_HORIZON_MS
    for window in store.list_windows(deployment, since_ms=horizon):
        if window.snapshot_hash is None or (window.labels_ms or -1) >= newest:
            continue
        snapshot = pq.read_table(io.BytesIO(objects.get_bytes(window.snapshot_hash)))
        ids = snapshot.column("request_id").combine_chunks().dictionary.to_pylist()
        labels = store.get_feedback(deployment, ids)
        metrics = dict(window.metrics)
        quality = quality_metrics(snapshot, labels, _recorded(metrics), config.slice_column)
        values = dict(metrics.get("values", {}))
        if quality is not None:
            metrics["quality"] = quality
            for key in _QUALITY_VALUES:
                if key in quality:
                    values[key] = float(quality[key])
            values["labels"] = float(quality["labels"])
            bias = quality.get("bias")
            if bias:
                values["accuracy_gap"] = float(bias["accuracy_gap"])
        metrics["values"] = values
        store.update_window_metrics(window.id, metrics, newest)
        updated += 1
    return updated


def _recorded(metrics: dict[str, Any]) -> dict[str, float]:
    """The metrics the model version recorded at registration (kept with the window)."""
    recorded = metrics.get("reference", {}).get("recorded") or {}
    return {str(k): float(v) for k, v in recorded.items()}
