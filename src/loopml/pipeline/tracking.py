"""The tracked runs of a pipeline run: one run for the pipeline, a nested run per step.

A step that executes gets its run before it starts (so ``loopml.log_metric`` inside the step
has somewhere to go); a cached step's run is written with the batch that records the step,
with no transaction of its own.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loopml.store.metadata.pipeline_base import NestedRun, StepBatch, StepRecord
from loopml.store.metadata.validation import param_text

if TYPE_CHECKING:
    from loopml.pipeline.keys import NodeKey
    from loopml.store.metadata.entities import Run
    from loopml.tracking.context import Context

__all__ = ["RunTracker", "step_node"]

MAX_PARAM = 6000
_EXT = {
    "json": ".json",
    "pandas": ".parquet",
    "pyarrow": ".parquet",
    "numpy": ".npy",
    "pickle": ".pkl",
}


def step_node(pipeline_run_id: str, name: str) -> str:
    """The lineage node id of a step in a run."""
    return f"step:{pipeline_run_id}/{name}"


def _params(values: Mapping[str, Any]) -> dict[str, str]:
    return {k: param_text(v)[:MAX_PARAM] for k, v in values.items()}


def _now() -> int:
    return time.time_ns() // 1_000_000


def output_artifacts(outputs: list[dict[str, Any]]) -> list[tuple[str, str, int, str]]:
    out = []
    for i, o in enumerate(outputs):
        meta = o.get("meta") or {}
        if o["materializer"] == "model":
            path = f"outputs/{i}/model"
        elif o["materializer"] == "path" and meta.get("name"):
            path = f"outputs/{i}/{meta['name']}"
        else:
            path = f"outputs/{i}{_EXT.get(o['materializer'], '')}"
        out.append((path, o["hash"], int(o.get("size") or 0), o["kind"]))
    return out


@dataclass
class RunTracker:
    ctx: Context
    run_id: str
    experiment_id: str
    pipeline: str
    started_ms: int
    user: str | None
    params: dict[str, Any]

    @classmethod
    def start(
        cls, ctx: Context, pipeline: str, params: Mapping[str, Any], experiment: str | None
    ) -> tuple[RunTracker, NestedRun]:
        """The pipeline's tracking run, to be written with the pipeline run's first rows."""
        import os

        from loopml.tracking import fluent
        from loopml.tracking.client import TrackingClient
        from loopml.tracking.provenance import capture

        client = TrackingClient(ctx)
        name = experiment or os.environ.get("LOOPML_EXPERIMENT")
        exp = client.get_or_create_experiment(name) if name else None
        if exp is None:
            current = getattr(fluent, "_experiment", None)
            exp = current or client.get_or_create_experiment("Default")
        active = fluent.active_run()
        tags = capture()
        tags.update({"loopml.pipeline.name": pipeline, "loopml.pipeline": pipeline})
        now = _now()
        tracker = cls(
            ctx,
            uuid.uuid4().hex,
            exp.experiment_id,
            pipeline,
            now,
            tags.get("loopml.user"),
            dict(params),
        )
        run = NestedRun(
            run_id=tracker.run_id,
            run_name=pipeline,
            status="RUNNING",
            start_ms=now,
            end_ms=None,
            create=True,
            experiment_id=exp.experiment_id,
            parent_run_id=active.run_id if active is not None else None,
            user=tracker.user,
            params=tracker.params_text(),
            tags=tags,
        )
        return tracker, run

    @classmethod
    def attach(cls, ctx: Context, run_id: str, pipeline: str) -> RunTracker:
        run = ctx.metadata.get_run(run_id)
        return cls(ctx, run_id, run.experiment_id, pipeline, _now(), run.user, dict(run.params))

    def params_text(self) -> dict[str, str]:
        return _params(self.params)

    def _tags(self, name: str) -> dict[str, str]:
        return {
            "loopml.pipeline.run_id": self.run_id,
            "loopml.pipeline.name": self.pipeline,
            "loopml.pipeline.steps": name,
        }

    def create_step_run(self, name: str, literals: Mapping[str, Any]) -> str:
        """The run of a step about to execute, written now (one write)."""
        run = self.ctx.metadata.create_run(
            self.experiment_id,
            run_name=name,
            parent_run_id=self.run_id,
            tags=self._tags(name),
            user=self.user,
        )
        return run.run_id

    def new_step_run(self, name: str, literals: Mapping[str, Any], batch: StepBatch) -> Run:
        """The run of a step about to execute, written with ``batch`` (flush it first)."""
        from loopml.store.metadata.entities import LifecycleStage, Run, RunStatus

        run_id = uuid.uuid4().hex
        now = _now()
        tags = self._tags(name)
        batch.runs.append(self._nested(run_id, name, "RUNNING", now, None, literals, tags))
        return Run(
            run_id=run_id,
            experiment_id=self.experiment_id,
            run_name=name,
            status=RunStatus.RUNNING,
            start_ms=now,
            end_ms=None,
            parent_run_id=self.run_id,
            lifecycle_stage=LifecycleStage.ACTIVE,
            user=self.user,
            tags=dict(tags),
        )

    def _nested(
        self,
        run_id: str,
        name: str,
        status: str,
        start: int,
        end: int | None,
        literals: Mapping[str, Any],
        tags: dict[str, str],
    ) -> NestedRun:
        """A step's run under the pipeline's, to be created with the step batch."""
        return NestedRun(
            run_id=run_id,
            run_name=name,
            status=status,
            start_ms=start,
            end_ms=end,
            create=True,
            experiment_id=self.experiment_id,
            parent_run_id=self.run_id,
            user=self.user,
            params=_params(literals),
            tags=tags,
        )

    def cached_step_run(
        self,
        name: str,
        literals: Mapping[str, Any],
        hit: StepRecord,
        now: int,
        batch: StepBatch,
    ) -> str:
        run_id = uuid.uuid4().hex
        tags = self._tags(name)
        tags["loopml.pipeline.cache_hit"] = "true"
        tags["loopml.pipeline.cache_key"] = hit.cache_key or ""
        if hit.run_id:
            tags["loopml.pipeline.cached_from"] = hit.run_id
        run = self._nested(run_id, name, "FINISHED", now, now, literals, tags)
        run.artifacts = output_artifacts(hit.outputs)
        batch.runs.append(run)
        return run_id

    def executed_step_run(
        self,
        record: StepRecord,
        nk: NodeKey | None,
        outputs: list[dict[str, Any]],
        logs: str,
        status: str,
        batch: StepBatch,
        metrics: dict[str, float] | None = None,
    ) -> None:
        assert record.run_id is not None
        tags = {
            "loopml.pipeline.cache_hit": "false",
            "loopml.pipeline.attempts": str(record.attempts),
        }
        if nk is not None:
            tags["loopml.pipeline.cache_key"] = nk.key
        if record.duration_ms is not None:
            tags["loopml.pipeline.duration_ms"] = f"{record.duration_ms:.3f}"
        artifacts = output_artifacts(outputs)
        if logs:
            info = self.ctx.objects.put_bytes(logs.encode("utf-8", "replace"))
            artifacts.append(("logs.txt", info.hash, info.size, "file"))
        batch.runs.append(
            NestedRun(
                run_id=record.run_id,
                run_name=record.name,
                status=status,
                start_ms=record.started_ms or _now(),
                end_ms=record.ended_ms or _now(),
                params=_params(nk.literals) if nk is not None else {},
                tags=tags,
                artifacts=artifacts,
                metrics=dict(metrics or {}),
            )
        )

    def close(self) -> None:
        """Nothing is buffered here; the run's end is written by the pipeline store."""
