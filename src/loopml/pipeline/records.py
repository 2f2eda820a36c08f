"""What a pipeline run reports: :class:`PipelineRun` with a :class:`StepRun` per node."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from loopml.errors import InvalidParameterError, InvalidStateError, StepFailedError
from loopml.store.metadata.pipeline_base import PipelineRunRecord, StepRecord

__all__ = ["PipelineRun", "StepRun"]


@dataclass
class StepRun:
    """One node of a run: PENDING, RUNNING, FINISHED, FAILED, CACHED or SKIPPED."""

    name: str
    step: str
    status: str
    cache_hit: bool = False
    cache_key: str | None = None
    duration_ms: float | None = None
    outputs: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    run_id: str | None = None
    upstream: list[str] = field(default_factory=list)
    attempts: int = 0
    started_ms: int | None = None
    ended_ms: int | None = None

    @classmethod
    def from_record(cls, r: StepRecord) -> StepRun:
        return cls(
            name=r.name,
            step=r.step,
            status=r.status,
            cache_hit=r.cache_hit,
            cache_key=r.cache_key,
            duration_ms=r.duration_ms,
            outputs=list(r.outputs),
            error=r.error,
            run_id=r.run_id,
            upstream=list(r.upstream),
            attempts=r.attempts,
            started_ms=r.started_ms,
            ended_ms=r.ended_ms,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "step": self.step,
            "status": self.status,
            "cache_hit": self.cache_hit,
            "cache_key": self.cache_key,
            "duration_ms": self.duration_ms,
            "outputs": self.outputs,
            "error": self.error,
            "run_id": self.run_id,
            "upstream": self.upstream,
            "attempts": self.attempts,
            "started_ms": self.started_ms,
            "ended_ms": self.ended_ms,
        }


@dataclass
class PipelineRun:
    """A pipeline run; ``id`` is also the id of its tracking run (``run_id``)."""

    id: str
    pipeline: str
    status: str
    params: dict[str, Any]
    steps: dict[str, StepRun]
    started_ms: int
    ended_ms: int | None = None
    error: str | None = None
    registered: list[str] = field(default_factory=list)
    executor: str = "local"
    ref: str | None = None
    use_cache: bool = True
    graph: dict[str, Any] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return self.id

    @property
    def duration_ms(self) -> int | None:
        return None if self.ended_ms is None else self.ended_ms - self.started_ms

    @classmethod
    def from_records(cls, run: PipelineRunRecord, steps: list[StepRecord]) -> PipelineRun:
        return cls(
            id=run.run_id,
            pipeline=run.pipeline,
            status=run.status,
            params=dict(run.params),
            steps={s.name: StepRun.from_record(s) for s in sorted(steps, key=lambda s: s.position)},
            started_ms=run.started_ms,
            ended_ms=run.ended_ms,
            error=run.error,
            registered=list(run.registered),
            executor=run.executor,
            ref=run.ref,
            use_cache=run.use_cache,
            graph=run.graph,
        )

    def output(self, step_name: str) -> Any:
        """The value step ``step_name`` produced (a tuple for several outputs), loaded."""
        from loopml.pipeline.worker import load_output

        found = self.steps.get(step_name)
        if found is None:
            raise InvalidParameterError(
                f"pipeline run {self.id} has no step {step_name!r}; its steps are: "
                f"{', '.join(self.steps)}",
                step=step_name,
            )
        if found.status not in ("FINISHED", "CACHED") or not found.outputs:
            raise InvalidStateError(
                f"step {step_name!r} of run {self.id} has no output: it is {found.status}",
                step=step_name,
            )
        values = [load_output(o) for o in found.outputs]
        return values[0] if len(values) == 1 else tuple(values)

    def raise_for_status(self) -> PipelineRun:
        """Raise :class:`StepFailedError` if the run failed; return the run otherwise."""
        if self.status == "FAILED":
            failed = next((s.name for s in self.steps.values() if s.status == "FAILED"), None)
            raise StepFailedError(
                self.error or f"pipeline run {self.id} failed", run_id=self.id, step=failed
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "run_id": self.id,
            "pipeline": self.pipeline,
            "status": self.status,
            "params": self.params,
            "started_ms": self.started_ms,
            "ended_ms": self.ended_ms,
            "duration_ms": self.duration_ms,
            "error": self.error,
            "registered": list(self.registered),
            "executor": self.executor,
            "ref": self.ref,
            "use_cache": self.use_cache,
            "steps": [s.to_dict() for s in self.steps.values()],
        }
