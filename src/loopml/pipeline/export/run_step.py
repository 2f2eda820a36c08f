"""``loopml pipeline run-step``: run ONE step of a pipeline run, as an orchestrator task does.

An orchestrator (Airflow) runs each step as its own task, in its own process, possibly on
another machine. All tasks of one orchestrator run name the same ``pipeline_run`` (the
Airflow run id); the first task to arrive creates the loopml pipeline run, later ones join it.
A step reads its inputs from the outputs its upstream steps recorded in that run (content
hashes in the object store), keys and caches exactly as ``loopml pipeline run`` does, and the
run finishes when its last step does.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, wait
from typing import TYPE_CHECKING, Any

from loopml.errors import InvalidParameterError, InvalidStateError, NotFoundError, StepFailedError

if TYPE_CHECKING:
    from loopml.pipeline.definition import Pipeline
    from loopml.pipeline.graph import Graph
    from loopml.pipeline.records import StepRun
    from loopml.store.metadata.pipeline_base import PipelineRunRecord, StepRecord

__all__ = ["EXTERNAL_TAG", "run_step"]

EXTERNAL_TAG = "loopml.pipeline.external_run"
DONE = ("FINISHED", "CACHED")
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")


def _now() -> int:
    return time.time_ns() // 1_000_000


def run_step(
    ref: str,
    step: str,
    *,
    pipeline_run: str,
    params: Mapping[str, Any] | None = None,
) -> StepRun:
    """Run step ``step`` of the pipeline at ``ref`` inside pipeline run ``pipeline_run``.

    ``pipeline_run`` is a loopml pipeline run id or any external id (the Airflow run id);
    ``params`` must be the same for every step of one run. Raises
    :class:`~loopml.errors.StepFailedError` when the step fails, and
    :class:`~loopml.errors.InvalidStateError` when an upstream step has not run yet.
    """
    from loopml.pipeline.loader import load_pipeline

    _check_external_id(pipeline_run)
    pipe = load_pipeline(ref)
    values = pipe.resolve_params(params)
    graph = pipe.build(values)
    if step not in graph.nodes:
        raise NotFoundError(
            f"pipeline {pipe.name!r} has no step {step!r}; its steps are: "
            f"{', '.join(graph.topological())}",
            step=step,
        )
    record, steps = _find_or_create(pipe, graph, values, pipeline_run)
    existing = {s.name: s for s in steps}
    for up in graph.nodes[step].upstream:
        found = existing.get(up)
        if found is None or found.status not in DONE:
            status = found.status if found is not None else "not recorded"
            raise InvalidStateError(
                f"step {step!r} needs the output of step {up!r}, which has not run in pipeline "
                f"run {record.run_id} ({status}); run it first: loopml pipeline run-step "
                f"{ref} --step {up} --pipeline-run {pipeline_run}",
                step=step,
                upstream=up,
                run_id=record.run_id,
            )
    return _execute(pipe, graph, values, record, existing, step)


def _check_external_id(pipeline_run: str) -> None:
    if (
        not isinstance(pipeline_run, str)
        or not pipeline_run.strip()
        or len(pipeline_run) > 250
        or any(c in pipeline_run for c in "'\\\n\r`")
    ):
        raise InvalidParameterError(
            f"--pipeline-run {pipeline_run!r} must be 1-250 characters without quotes, "
            "backslashes or newlines (e.g. the Airflow run id)"
        )


def _same_params(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    def canon(x: Mapping[str, Any]) -> str:
        return json.dumps(x, sort_keys=True, default=repr)

    return canon(a) == canon(json.loads(json.dumps(b, default=repr)))


@contextlib.contextmanager
def _creation_lock() -> Iterator[None]:
    """Tasks of one run starting together on one machine create one run, not several."""
    import fcntl

    from loopml.pipeline._stores import context

    folder = context().settings.state_dir / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "run-step.lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _lookup(pipe: Pipeline, pipeline_run: str) -> list[Any]:
    from loopml.tracking import fluent

    name = pipe.name.replace("'", "")
    runs = fluent.client().search_runs(
        None,
        f"tags.`{EXTERNAL_TAG}` = '{pipeline_run}' and tags.`loopml.pipeline.name` = '{name}'",
        ["attributes.start_time ASC"],
        100,
        None,
    )
    return sorted(runs, key=lambda r: (r.start_ms, r.run_id))


def _find_or_create(
    pipe: Pipeline, graph: Graph, values: dict[str, Any], pipeline_run: str
) -> tuple[PipelineRunRecord, list[StepRecord]]:
    from loopml.pipeline._stores import pipeline_store

    store = pipeline_store()
    if _RUN_ID.match(pipeline_run):
        with contextlib.suppress(NotFoundError):
            found = store.get_run(pipeline_run)
            return _checked(pipe, values, pipeline_run, *found)
    with _creation_lock():
        runs = _lookup(pipe, pipeline_run)
        if not runs:
            mine = _create(pipe, graph, values, pipeline_run)
            runs = _lookup(pipe, pipeline_run)
            # another machine may have created one meanwhile: the oldest wins everywhere
            if runs and runs[0].run_id != mine:
                store.finish_run(
                    mine,
                    "FAILED",
                    _now(),
                    f"superseded by pipeline run {runs[0].run_id} (created at the same time)",
                    [],
                    _empty_batch(),
                )
    record, steps = store.get_run(runs[0].run_id)
    return _checked(pipe, values, pipeline_run, record, steps)


def _empty_batch() -> Any:
    from loopml.store.metadata.pipeline_base import StepBatch

    return StepBatch()


def _checked(
    pipe: Pipeline,
    values: dict[str, Any],
    pipeline_run: str,
    record: PipelineRunRecord,
    steps: list[StepRecord],
) -> tuple[PipelineRunRecord, list[StepRecord]]:
    if record.pipeline != pipe.name:
        raise InvalidParameterError(
            f"pipeline run {record.run_id} belongs to pipeline {record.pipeline!r}, not "
            f"{pipe.name!r}"
        )
    if not _same_params(values, record.params):
        raise InvalidParameterError(
            f"pipeline run {pipeline_run!r} was started with params "
            f"{json.dumps(record.params, default=repr)}; this step was given "
            f"{json.dumps(values, default=repr)}: every step of a run takes the same -p values",
            run_id=record.run_id,
        )
    return record, steps


def _create(pipe: Pipeline, graph: Graph, values: dict[str, Any], pipeline_run: str) -> str:
    from loopml.pipeline._stores import context, pipeline_store
    from loopml.pipeline.tracking import RunTracker
    from loopml.store.metadata.pipeline_base import PipelineRunRecord, StepRecord

    ctx = context()
    tracker, tracking_run = RunTracker.start(ctx, pipe.name, values, None)
    tracking_run.tags[EXTERNAL_TAG] = pipeline_run  # written with the run, in one transaction
    record = PipelineRunRecord(
        run_id=tracker.run_id,
        pipeline=pipe.name,
        status="RUNNING",
        params=values,
        executor="local",
        use_cache=True,
        started_ms=tracker.started_ms,
        graph=graph.to_dict(),
        ref=pipe.default_ref(),
    )
    steps = [
        StepRecord(name, graph.nodes[name].step.name, i, "PENDING", graph.nodes[name].upstream)
        for i, name in enumerate(graph.topological())
    ]
    pipeline_store(ctx).start_run(record, steps, tracking_run)
    return tracker.run_id


def _execute(
    pipe: Pipeline,
    graph: Graph,
    values: dict[str, Any],
    record: PipelineRunRecord,
    existing: dict[str, StepRecord],
    target: str,
) -> StepRun:
    """The runner's own machinery with every node but ``target`` held back."""
    from loopml.pipeline.executors.base import get_executor
    from loopml.pipeline.records import StepRun
    from loopml.pipeline.runner import _Runner
    from loopml.pipeline.tracking import RunTracker
    from loopml.store.metadata.pipeline_base import StepRecord

    runner = _Runner(pipe, graph, values, cache=record.use_cache)
    runner.tracker = RunTracker.attach(runner.ctx, record.run_id, pipe.name)
    runner.record = record
    runner.existing = existing
    if record.status != "RUNNING":
        runner.store.reopen_run(record.run_id, _now())
        record.status = "RUNNING"
    for i, name in enumerate(runner.order):
        node = graph.nodes[name]
        old = existing.get(name)
        runner.records[name] = old or StepRecord(name, node.step.name, i, "PENDING", node.upstream)
        if name == target:
            runner.state[name] = "pending"
        elif old is not None and old.status in DONE:
            runner.state[name] = "done"
            runner.outputs[name] = old.outputs
        else:
            runner.state[name] = "held"
    executor = get_executor("local")
    try:
        runner._start_ready(executor)
        while runner.futures:
            done, _ = wait(list(runner.futures), return_when=FIRST_COMPLETED)
            for future in done:
                runner._complete(executor, future)
    finally:
        executor.close()
    _close(runner, graph)
    result = StepRun.from_record(runner.records[target])
    if result.status not in DONE:
        raise StepFailedError(
            result.error or f"step {target!r} failed", step=target, run_id=record.run_id
        )
    return result


def _close(runner: Any, graph: Graph) -> None:
    """Save what the step produced; finish the run when its last step is done (or failed).

    The step is saved before the run's steps are read back, so of two last steps finishing
    at the same time (parallel tasks), at least the later one sees both done.
    """
    from loopml.pipeline.worker import load_output
    from loopml.store.metadata.pipeline_base import StepBatch

    run_id = runner.record.run_id
    if any(state == "failed" for state in runner.state.values()):
        runner.store.finish_run(run_id, "FAILED", _now(), runner.error, [], runner.batch)
        return
    runner.store.save(run_id, runner.batch)
    _, steps = runner.store.get_run(run_id)
    if not all(s.status in DONE for s in steps):
        return
    registered: list[str] = []
    for rec in steps:
        node = graph.nodes.get(rec.name)
        if node is not None and node.kind == "register" and rec.outputs:
            uri = load_output(rec.outputs[0], runner.ctx)
            if isinstance(uri, str):
                registered.append(uri)
    runner.store.finish_run(run_id, "FINISHED", _now(), None, registered, StepBatch())
