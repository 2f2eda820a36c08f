"""The JSON shape of metadata records, shared by the server (out) and the REST client (in).

JSON has no NaN or infinity, and a logged NaN must round-trip, so special floats travel as the
strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` (which pydantic and ``float()`` read back).
"""

from __future__ import annotations

import math
from typing import Any

from loopml.store.metadata.entities import (
    ArtifactRecord,
    Experiment,
    LifecycleStage,
    Metric,
    Run,
    RunStatus,
)

WireFloat = float | str


def float_out(value: float) -> WireFloat:
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def float_in(value: Any) -> float:
    return math.nan if value is None else float(value)


def experiment_out(e: Experiment) -> dict[str, Any]:
    return {
        "experiment_id": e.experiment_id,
        "name": e.name,
        "lifecycle_stage": e.lifecycle_stage.value,
        "created_ms": e.created_ms,
        "updated_ms": e.updated_ms,
        "tags": e.tags,
    }


def experiment_in(d: dict[str, Any]) -> Experiment:
    return Experiment(
        experiment_id=d["experiment_id"],
        name=d["name"],
        lifecycle_stage=LifecycleStage(d["lifecycle_stage"]),
        created_ms=d["created_ms"],
        updated_ms=d["updated_ms"],
        tags=d.get("tags") or {},
    )


def run_out(r: Run) -> dict[str, Any]:
    return {
        "run_id": r.run_id,
        "experiment_id": r.experiment_id,
        "run_name": r.run_name,
        "status": r.status.value,
        "start_ms": r.start_ms,
        "end_ms": r.end_ms,
        "parent_run_id": r.parent_run_id,
        "lifecycle_stage": r.lifecycle_stage.value,
        "user": r.user,
        "status_message": r.status_message,
        "params": r.params,
        "metrics": {k: float_out(v) for k, v in r.metrics.items()},
        "tags": r.tags,
    }


def run_in(d: dict[str, Any]) -> Run:
    return Run(
        run_id=d["run_id"],
        experiment_id=d["experiment_id"],
        run_name=d["run_name"],
        status=RunStatus(d["status"]),
        start_ms=d["start_ms"],
        end_ms=d.get("end_ms"),
        parent_run_id=d.get("parent_run_id"),
        lifecycle_stage=LifecycleStage(d["lifecycle_stage"]),
        user=d.get("user"),
        status_message=d.get("status_message"),
        params=d.get("params") or {},
        metrics={k: float_in(v) for k, v in (d.get("metrics") or {}).items()},
        tags=d.get("tags") or {},
    )


def metric_out(m: Metric) -> dict[str, Any]:
    return {
        "key": m.key,
        "value": float_out(m.value),
        "step": m.step,
        "timestamp_ms": m.timestamp_ms,
    }


def metric_in(d: dict[str, Any]) -> Metric:
    return Metric(d["key"], float_in(d["value"]), d["step"], d["timestamp_ms"])


def artifact_out(a: ArtifactRecord) -> dict[str, Any]:
    return {
        "path": a.path,
        "object_hash": a.object_hash,
        "size": a.size,
        "kind": a.kind,
        "created_ms": a.created_ms,
    }


def artifact_in(d: dict[str, Any]) -> ArtifactRecord:
    return ArtifactRecord(d["path"], d["object_hash"], d["size"], d["kind"], d["created_ms"])
