"""Monitoring windows: cut the payload log by time or request count, compute each window once.

A cursor per (deployment, window spec) records where the next window starts; a window and the
cursor move in one transaction, so a window is computed once and history is never re-read. A
time window closes ``lag`` after its end (payload batches are flushed a little late); a request
window closes when it holds N requests. Within a window each model version (and each shadow)
gets its own result, compared with its own training reference.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from typing import Any

from loopml.monitoring import _stores
from loopml.monitoring.config import MonitorConfig, load_config, parse_duration, window_spec
from loopml.monitoring.metrics import window_metrics
from loopml.monitoring.payloads import read_payloads
from loopml.monitoring.reference import reference_for
from loopml.store.metadata.monitoring_base import NewWindow, WindowRecord

__all__ = ["WindowResult", "compute_windows", "list_windows"]

MAX_WINDOWS_PER_CALL = 10_000


@dataclass(frozen=True)
class WindowResult:
    """One stored window of one model version; ``values`` are what alert rules read."""

    id: int
    deployment: str
    spec: str
    model_version: str
    model_uri: str
    start_ms: int
    end_ms: int
    requests: int
    rows: int
    metrics: dict[str, Any] = field(repr=False)

    @classmethod
    def of(cls, record: WindowRecord) -> WindowResult:
        return cls(
            record.id,
            record.deployment,
            record.spec,
            record.model_version,
            record.model_uri,
            record.start_ms,
            record.end_ms,
            record.requests,
            record.rows,
            record.metrics,
        )

    @property
    def values(self) -> dict[str, float]:
        return dict(self.metrics.get("values", {}))

    @property
    def drift_share(self) -> float | None:
        return self.values.get("drift_share")

    @property
    def drifted_features(self) -> list[str]:
        return list(self.metrics.get("input_drift", {}).get("drifted", []))

    @property
    def error_rate(self) -> float:
        return float(self.values.get("error_rate", 0.0))

    @property
    def latency_p99_ms(self) -> float:
        return float(self.values.get("latency_p99_ms", 0.0))

    @property
    def accuracy(self) -> float | None:
        return self.values.get("accuracy")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "deployment": self.deployment,
            "spec": self.spec,
            "model_version": self.model_version,
            "model_uri": self.model_uri,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "requests": self.requests,
            "rows": self.rows,
            "metrics": self.metrics,
        }


def compute_windows(
    deployment: str,
    window: str | None = None,
    *,
    requests: int | None = None,
    now_ms: int | None = None,
) -> list[WindowResult]:
    """Compute and store every window of ``deployment`` that has closed since the last call.

    ``window="1h"`` cuts by time (aligned to the epoch: 10:00-11:00, ...); ``requests=N`` cuts
    every N logged requests. Returns only the new windows; earlier ones are in
    :func:`list_windows`. Labels that arrived since are joined into stored windows.
    """
    config = load_config(deployment)
    _stores.deployment_store().get_deployment(deployment)  # a clear 404 for a typo
    default = window is None and requests is None
    spec = config.window if default else window_spec(window, requests)
    now = now_ms if now_ms is not None else time.time_ns() // 1_000_000
    if spec.startswith("requests="):
        made = _request_windows(deployment, spec, int(spec.split("=", 1)[1]), now, config)
    else:
        made = _time_windows(deployment, spec, parse_duration(spec), now, config)
    from loopml.monitoring.feedback import refresh_quality

    refresh_quality(deployment, config)
    store = _stores.monitoring_store()
    return [WindowResult.of(store.get_window(w.id)) for w in made]


def list_windows(
    deployment: str,
    window: str | None = None,
    *,
    since_ms: int | None = None,
    limit: int | None = None,
) -> list[WindowResult]:
    """Stored windows (all specs unless ``window`` names one), oldest first."""
    spec = window_spec(window) if window is not None else None
    records = _stores.monitoring_store().list_windows(
        deployment, spec=spec, since_ms=since_ms, limit=limit
    )
    return [WindowResult.of(r) for r in records]


def _time_windows(
    deployment: str, spec: str, size: int, now: int, config: MonitorConfig
) -> list[WindowRecord]:
    store = _stores.monitoring_store()
    deployments = _stores.deployment_store()
    cursor = store.get_cursor(deployment, spec)
    start = int(cursor["end_ms"]) if cursor else None
    closed = now - config.lag_ms
    made: list[WindowRecord] = []
    files = deployments.list_payload_files(deployment, start, closed)  # one index query
    for _ in range(MAX_WINDOWS_PER_CALL):
        if start is not None:
            files = [f for f in files if f.max_ts_ms >= start]
        if not files:
            break
        first = min(f.min_ts_ms for f in files)
        if start is None or first >= start + size:  # skip empty windows in one step
            start = (max(first, start or 0) // size) * size
        end = start + size
        if end > closed:
            break
        mine = [f for f in files if f.min_ts_ms < end]
        payload = read_payloads(deployment, start, end, files=mine)
        windows = _windows_of(deployment, spec, payload, start, end, config)
        made.extend(store.add_windows(windows, deployment, spec, {"end_ms": end}))
        start = end
    return made


def _request_windows(
    deployment: str, spec: str, count: int, now: int, config: MonitorConfig
) -> list[WindowRecord]:
    store = _stores.monitoring_store()
    cursor = store.get_cursor(deployment, spec) or {}
    last_ts = cursor.get("ts_ms")
    last_id = cursor.get("request_id", "")
    closed = now - config.lag_ms
    pending = read_payloads(deployment, last_ts, closed)
    if last_ts is not None:
        import pyarrow.compute as pc

        ts = pending.column("ts_ms")
        after = pc.or_(
            pc.greater(ts, last_ts),
            pc.and_(pc.equal(ts, last_ts), pc.greater(pending.column("request_id"), last_id)),
        )
        pending = pending.filter(after)
    made: list[WindowRecord] = []
    offset = 0
    while pending.num_rows - offset >= count:
        chunk = pending.slice(offset, count)
        ts = chunk.column("ts_ms")
        start, end = int(ts[0].as_py()), int(ts[-1].as_py()) + 1
        windows = _windows_of(deployment, spec, chunk, start, end, config)
        position = {"ts_ms": end - 1, "request_id": chunk.column("request_id")[-1].as_py()}
        made.extend(store.add_windows(windows, deployment, spec, position))
        offset += count
    return made


def _windows_of(
    deployment: str, spec: str, payload: Any, start: int, end: int, config: MonitorConfig
) -> list[NewWindow]:
    """One window per model version (shadows apart) in ``payload``."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if payload.num_rows == 0:
        return []
    versions = payload.column("model_version").to_numpy(zero_copy_only=False).astype(str)
    shadow = payload.column("shadow").fill_null(False).to_numpy(zero_copy_only=False)
    keys = np.where(shadow.astype(bool), np.char.add(versions, " (shadow)"), versions)
    out: list[NewWindow] = []
    for key in np.unique(keys).tolist():
        rows = np.flatnonzero(keys == key)
        part = payload.take(pa.array(rows)) if rows.size != payload.num_rows else payload
        uris = pc.unique(part.column("model_uri")).to_pylist()
        model_uri = str(uris[0]) if uris else ""
        version = str(part.column("model_version")[0].as_py())
        reference = reference_for(model_uri, version)
        computed = window_metrics(
            part,
            reference,
            seconds=(end - start) / 1000,
            share=config.drift_share,
            slice_column=config.slice_column,
        )
        out.append(
            NewWindow(
                deployment=deployment,
                spec=spec,
                model_version=str(key),
                model_uri=model_uri,
                start_ms=start,
                end_ms=end,
                requests=int(part.num_rows),
                rows=int(computed.metrics["values"].get("rows", 0)),
                metrics=computed.metrics,
                snapshot_hash=_put_snapshot(computed.snapshot),
            )
        )
    return out


def _put_snapshot(table: Any) -> str | None:
    import pyarrow.parquet as pq

    if table.num_rows == 0:
        return None
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return _stores.object_store().put_bytes(sink.getvalue()).hash
