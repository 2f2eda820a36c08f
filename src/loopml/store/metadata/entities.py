"""Plain records the metadata store returns; the same for every store implementation."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class RunStatus(StrEnum):
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @property
    def is_terminal(self) -> bool:
        return self is not RunStatus.RUNNING


class LifecycleStage(StrEnum):
    ACTIVE = "active"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class Experiment:
    experiment_id: str
    name: str
    lifecycle_stage: LifecycleStage
    created_ms: int
    updated_ms: int
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Metric:
    key: str
    value: float
    step: int
    timestamp_ms: int

    def __eq__(self, other: object) -> bool:  # NaN == NaN here: a logged NaN round-trips
        if not isinstance(other, Metric):
            return NotImplemented
        same_value = self.value == other.value or (
            math.isnan(self.value) and math.isnan(other.value)
        )
        return (self.key, self.step, self.timestamp_ms) == (
            other.key,
            other.step,
            other.timestamp_ms,
        ) and same_value

    def __hash__(self) -> int:
        return hash((self.key, self.step, self.timestamp_ms))


@dataclass(frozen=True, slots=True)
class ArtifactRecord:
    path: str
    object_hash: str
    size: int
    kind: str  # "file" or "dir"
    created_ms: int


@dataclass(frozen=True, slots=True)
class Run:
    run_id: str
    experiment_id: str
    run_name: str
    status: RunStatus
    start_ms: int
    end_ms: int | None
    parent_run_id: str | None
    lifecycle_stage: LifecycleStage
    user: str | None = None
    status_message: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)  # latest value per key
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def duration_ms(self) -> int | None:
        return None if self.end_ms is None else self.end_ms - self.start_ms

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "experiment_id": self.experiment_id,
            "run_name": self.run_name,
            "status": str(self.status),
            "status_message": self.status_message,
            "user": self.user,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "parent_run_id": self.parent_run_id,
            "lifecycle_stage": str(self.lifecycle_stage),
            "params": dict(self.params),
            "metrics": dict(self.metrics),
            "tags": dict(self.tags),
        }


class RunList(list[Run]):
    """Search results: a list of runs that also turns into a DataFrame, and knows its next page."""

    next_page_token: str | None = None

    def to_pandas(self) -> Any:
        import pandas as pd

        rows = []
        for run in self:
            row: dict[str, Any] = {
                "run_id": run.run_id,
                "experiment_id": run.experiment_id,
                "run_name": run.run_name,
                "status": str(run.status),
                "start_time": pd.Timestamp(run.start_ms, unit="ms", tz="UTC"),
                "end_time": (
                    pd.Timestamp(run.end_ms, unit="ms", tz="UTC")
                    if run.end_ms is not None
                    else None
                ),
                "parent_run_id": run.parent_run_id,
            }
            row.update({f"params.{k}": v for k, v in run.params.items()})
            row.update({f"metrics.{k}": v for k, v in run.metrics.items()})
            row.update({f"tags.{k}": v for k, v in run.tags.items()})
            rows.append(row)
        return pd.DataFrame(rows)
