"""The interface to pipeline records: runs, steps (which double as cache entries), edges.

Writes come in batches (:class:`StepBatch`): a pipeline run records everything a stretch of
steps produced, including their nested tracking runs, in one transaction, so a fully cached
re-run costs two writes however many steps it has.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "NestedRun",
    "PipelineRunRecord",
    "PipelineStore",
    "StepBatch",
    "StepRecord",
]


@dataclass
class PipelineRunRecord:
    run_id: str
    pipeline: str
    status: str
    params: dict[str, Any]
    executor: str
    use_cache: bool
    started_ms: int
    graph: dict[str, Any]
    ref: str | None = None
    error: str | None = None
    registered: list[str] = field(default_factory=list)
    ended_ms: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "pipeline": self.pipeline,
            "status": self.status,
            "params": self.params,
            "executor": self.executor,
            "use_cache": self.use_cache,
            "started_ms": self.started_ms,
            "ended_ms": self.ended_ms,
            "ref": self.ref,
            "error": self.error,
            "registered": list(self.registered),
        }


@dataclass
class StepRecord:
    name: str
    step: str
    position: int
    status: str
    upstream: list[str] = field(default_factory=list)
    cache_hit: bool = False
    cache_key: str | None = None
    components: dict[str, Any] | None = None
    run_id: str | None = None
    outputs: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    attempts: int = 0
    started_ms: int | None = None
    ended_ms: int | None = None
    duration_ms: float | None = None
    pipeline_run_id: str | None = None  # filled in when read back


@dataclass
class NestedRun:
    """A step's tracking run, written with the step's batch: ``create`` inserts it (a cached
    step's run), otherwise it exists and gets its tags, params and artifacts added."""

    run_id: str
    run_name: str
    status: str
    start_ms: int
    end_ms: int | None
    create: bool = False
    experiment_id: str | None = None
    parent_run_id: str | None = None
    user: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    # (path, object hash, size, kind)
    artifacts: list[tuple[str, str, int, str]] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)  # logged at step 0, at end_ms


@dataclass
class StepBatch:
    steps: list[StepRecord] = field(default_factory=list)
    edges: list[tuple[str, str]] = field(default_factory=list)
    runs: list[NestedRun] = field(default_factory=list)
    # lineage node ids whose earlier edges in this run are replaced (a step run again)
    stale_nodes: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.steps or self.edges or self.runs or self.stale_nodes)


class PipelineStore(ABC):
    @abstractmethod
    def start_run(
        self,
        record: PipelineRunRecord,
        steps: Sequence[StepRecord],
        tracking: NestedRun,
    ) -> None:
        """Insert the tracking run (with its tags and params), the pipeline run and its
        pending steps, in one transaction."""

    @abstractmethod
    def reopen_run(self, run_id: str, started_ms: int) -> None:
        """Mark a finished or failed run RUNNING again (resume), tracking run included."""

    @abstractmethod
    def save(self, pipeline_run_id: str, batch: StepBatch) -> None:
        """Upsert steps (replacing their outputs), add edges and nested runs: one transaction."""

    @abstractmethod
    def finish_run(
        self,
        run_id: str,
        status: str,
        ended_ms: int,
        error: str | None,
        registered: Sequence[str],
        batch: StepBatch,
    ) -> None:
        """Save ``batch`` and close the run and its tracking run, in one transaction."""

    @abstractmethod
    def get_run(self, run_id: str) -> tuple[PipelineRunRecord, list[StepRecord]]:
        """``RESOURCE_NOT_FOUND`` if there is no such pipeline run."""

    @abstractmethod
    def list_runs(self, pipeline: str | None = None, limit: int = 50) -> list[PipelineRunRecord]:
        """Newest first."""

    @abstractmethod
    def find_cached(self, cache_key: str) -> StepRecord | None:
        """The newest finished (or cached) step with this key: its outputs are reusable."""

    @abstractmethod
    def cache_candidates(self, pipeline: str, runs: int = 3) -> dict[str, StepRecord]:
        """cache key -> finished step, from the newest ``runs`` runs of ``pipeline``: one
        read that usually answers every lookup of a re-run (a miss asks ``find_cached``)."""

    @abstractmethod
    def previous_step(
        self, pipeline: str, name: str, before_ms: int, exclude_run: str
    ) -> StepRecord | None:
        """The same step in the newest earlier run of ``pipeline`` that keyed it."""

    @abstractmethod
    def edges(self, pipeline_run_id: str) -> list[tuple[str, str]]: ...

    @abstractmethod
    def edges_into(self, node: str) -> list[tuple[str, str, str]]:
        """Edges ending at ``node``, as (pipeline_run_id, src, dst)."""

    @abstractmethod
    def step_of_run(self, run_id: str) -> tuple[str, str] | None:
        """(pipeline run id, step name) of the step whose nested tracking run is ``run_id``."""
