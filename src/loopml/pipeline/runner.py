"""Running a pipeline: key each node, reuse cached outputs, execute the rest, record it all.

The orchestrator runs in the caller's process; steps run wherever the executor puts them and
exchange only object hashes. A failing step fails its run (after its retries) and skips what
depends on it, while independent branches finish, so a resume has the least left to do.
Cached steps are recorded in one batch with the run's end; executed steps as they finish.
"""

from __future__ import annotations

import pickle
import time
import warnings
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from pathlib import Path
from typing import Any

from loopml.errors import InvalidStateError, LoopmlError
from loopml.pipeline._stores import context, pipeline_store
from loopml.pipeline.definition import Pipeline
from loopml.pipeline.executors.base import Executor, StepTask, get_executor
from loopml.pipeline.graph import Graph
from loopml.pipeline.keys import DataResolver, NodeKey, key_node
from loopml.pipeline.materializers import custom_materializers
from loopml.pipeline.records import PipelineRun
from loopml.pipeline.tracking import RunTracker, step_node
from loopml.pipeline.worker import InputSpec, TaskSpec
from loopml.store.metadata.entities import Run
from loopml.store.metadata.pipeline_base import PipelineRunRecord, StepBatch, StepRecord

__all__ = ["PipelineWarning", "resume", "run_pipeline"]

DONE = ("FINISHED", "CACHED")


class PipelineWarning(UserWarning):
    """Something about a step's outputs that deserves attention (e.g. pickled output)."""


def _now() -> int:
    return time.time_ns() // 1_000_000


def _as_pipeline(ref_or_pipeline: str | Pipeline) -> Pipeline:
    if isinstance(ref_or_pipeline, Pipeline):
        return ref_or_pipeline
    if isinstance(ref_or_pipeline, str):
        from loopml.pipeline.loader import load_pipeline

        return load_pipeline(ref_or_pipeline)
    raise InvalidStateError(
        f"run_pipeline takes a @pipeline or a 'path/file.py:name' reference, got "
        f"{type(ref_or_pipeline).__name__}"
    )


def run_pipeline(
    ref_or_pipeline: str | Pipeline,
    params: Mapping[str, Any] | None = None,
    *,
    executor: str | Executor = "local",
    cache: bool = True,
    config: str | Path | None = None,
    experiment: str | None = None,
) -> PipelineRun:
    """Run a pipeline and return its :class:`PipelineRun` (FINISHED or FAILED).

    Bad parameters and a cyclic graph raise before anything runs; a failing step does not
    raise: the run comes back FAILED with the error (``run.raise_for_status()`` raises).
    """
    pipe = _as_pipeline(ref_or_pipeline)
    values = pipe.resolve_params(params, config)
    graph = pipe.build(values)
    runner = _Runner(pipe, graph, values, cache=cache)
    with _OwnedExecutor(executor) as exe:
        return runner.run(exe, experiment=experiment)


def resume(
    run_id: str,
    executor: str | Executor | None = None,
    *,
    pipeline: Pipeline | None = None,
    force: bool = False,
) -> PipelineRun:
    """Continue a failed run: steps that finished (and whose inputs and code are unchanged)
    keep their outputs; the failed steps and everything downstream run again."""
    store = pipeline_store()
    record, steps = store.get_run(run_id)
    if record.status == "FINISHED":
        raise InvalidStateError(f"pipeline run {run_id} finished: there is nothing to resume")
    if record.status == "RUNNING" and not force:
        raise InvalidStateError(
            f"pipeline run {run_id} is still RUNNING; if its process died, resume it with "
            "force=True (--force)"
        )
    if pipeline is None:
        if not record.ref:
            raise InvalidStateError(
                f"pipeline run {run_id} was started from a pipeline defined inside a function; "
                "pass pipeline= to resume it"
            )
        pipeline = _as_pipeline(record.ref)
    graph = pipeline.build(record.params)
    runner = _Runner(pipeline, graph, record.params, cache=record.use_cache)
    with _OwnedExecutor(executor or record.executor) as exe:
        return runner.resume(exe, record, {s.name: s for s in steps})


class _OwnedExecutor:
    """An executor named by string is ours to close; an instance stays the caller's."""

    def __init__(self, executor: str | Executor) -> None:
        self.owned = isinstance(executor, str)
        self.exe = get_executor(executor) if isinstance(executor, str) else executor

    def __enter__(self) -> Executor:
        return self.exe

    def __exit__(self, *exc: object) -> None:
        if self.owned:
            self.exe.close()


class _Runner:
    def __init__(
        self, pipe: Pipeline, graph: Graph, params: Mapping[str, Any], *, cache: bool
    ) -> None:
        self.pipe = pipe
        self.graph = graph
        self.params = dict(params)
        self.use_cache = cache
        self.order = graph.topological()
        self.ctx = context()
        self.store = pipeline_store(self.ctx)
        self.resolver = DataResolver()
        root = self.ctx.settings.root.resolve()
        ref_file = (pipe.default_ref() or "").rpartition(":")[0]
        extra = (Path(ref_file).resolve().parent,) if ref_file else ()
        self.roots = (root, *extra)
        self.records: dict[str, StepRecord] = {}
        self.outputs: dict[str, list[dict[str, Any]]] = {}
        self.state: dict[str, str] = {}
        self.batch = StepBatch()
        self.futures: dict[Future[Any], tuple[str, NodeKey, TaskSpec]] = {}
        self.error: str | None = None
        self.registered: list[str] = []
        self.node_datasets: dict[str, list[str]] = {}
        self.candidates: dict[str, StepRecord] | None = None
        self.existing: dict[str, StepRecord] = {}  # a resumed run's steps
        self.step_runs: dict[str, Run] = {}  # tracking runs of executing steps
        self.materializers = custom_materializers()

    # -- entry points -----------------------------------------------------------------------
    def run(self, exe: Executor, experiment: str | None) -> PipelineRun:
        self.tracker, tracking_run = RunTracker.start(
            self.ctx, self.pipe.name, self.params, experiment
        )
        started = self.tracker.started_ms
        self.record = PipelineRunRecord(
            run_id=self.tracker.run_id,
            pipeline=self.pipe.name,
            status="RUNNING",
            params=self.params,
            executor=exe.name,
            use_cache=self.use_cache,
            started_ms=started,
            graph=self.graph.to_dict(),
            ref=self.pipe.default_ref(),
        )
        for i, name in enumerate(self.order):
            node = self.graph.nodes[name]
            self.records[name] = StepRecord(name, node.step.name, i, "PENDING", node.upstream)
            self.state[name] = "pending"
        self.store.start_run(self.record, list(self.records.values()), tracking_run)
        return self._drive(exe)

    def resume(
        self, exe: Executor, record: PipelineRunRecord, existing: dict[str, StepRecord]
    ) -> PipelineRun:
        self.tracker = RunTracker.attach(self.ctx, record.run_id, self.pipe.name)
        self.record = record
        record.executor = exe.name
        self.store.reopen_run(record.run_id, _now())
        self.existing = existing
        new_steps = []
        for i, name in enumerate(self.order):
            node = self.graph.nodes[name]
            old = existing.get(name)
            self.records[name] = old or StepRecord(
                name, node.step.name, i, "PENDING", node.upstream
            )
            if old is None:
                new_steps.append(self.records[name])
            self.state[name] = "pending"
        self.store.save(record.run_id, StepBatch(steps=new_steps))
        return self._drive(exe)

    # -- scheduling -------------------------------------------------------------------------
    def _drive(self, exe: Executor) -> PipelineRun:
        try:
            while True:
                self._start_ready(exe)
                if not self.futures:
                    break
                self._flush()  # finished steps become visible while others still run
                done, _ = wait(list(self.futures), return_when=FIRST_COMPLETED)
                for future in done:
                    self._complete(exe, future)
        except BaseException as exc:
            self.error = self.error or f"the pipeline run was interrupted: {exc!r}"
            for name, state in self.state.items():
                if state in ("pending", "running"):
                    self._finish(name, "FAILED", error="interrupted")
            self._close()
            raise
        return self._close()

    def _start_ready(self, exe: Executor) -> None:
        progressed = True
        while progressed:
            progressed = False
            for name in self.order:
                if self.state[name] != "pending":
                    continue
                ups = self.graph.nodes[name].upstream
                if any(self.state[u] in ("failed", "skipped") for u in ups):
                    self._finish(name, "SKIPPED", error="an upstream step failed")
                    progressed = True
                elif all(self.state[u] == "done" for u in ups):
                    self._start(exe, name)
                    progressed = True

    def _start(self, exe: Executor, name: str) -> None:
        node = self.graph.nodes[name]
        record = self.records[name]
        try:
            nk = key_node(node, self.outputs, self.resolver, self.roots)
        except LoopmlError as exc:
            self._fail(name, f"step {name!r} could not start: {exc.message}")
            return
        self.node_datasets[name] = nk.datasets
        old = self.existing.get(name)
        if old is not None and old.status in DONE and old.cache_key == nk.key:
            self.outputs[name] = old.outputs
            self.state[name] = "done"
            return
        if self.use_cache and node.step.cache:
            hit = self._candidates().get(nk.key) or self.store.find_cached(nk.key)
            if hit is not None and all(self.ctx.objects.exists(o["hash"]) for o in hit.outputs):
                self._cached(name, nk, hit)
                return
        if node.kind == "register":
            from loopml.pipeline.register import run_register_node

            record.started_ms = _now()
            self.state[name] = "running"
            try:
                outputs, uri, run_id = run_register_node(self, name, nk)
            except LoopmlError as exc:
                self._fail(name, f"step {name!r} (register) failed: {exc.message}", nk=nk)
                return
            record.run_id = run_id
            self._succeed(name, nk, outputs, duration=_now() - record.started_ms)
            if uri:
                self.registered.append(uri)
                self.batch.edges.append((step_node(self.record.run_id, name), uri))
            return
        self._submit(exe, name, nk, attempt=1)

    def _candidates(self) -> dict[str, StepRecord]:
        if self.candidates is None:
            self.candidates = self.store.cache_candidates(self.pipe.name)
        return self.candidates

    def _submit(self, exe: Executor, name: str, nk: NodeKey, attempt: int) -> None:

        node = self.graph.nodes[name]
        record = self.records[name]
        if attempt == 1:
            record.started_ms = _now()
            self.step_runs[name] = self.tracker.new_step_run(name, nk.literals, self.batch)
            record.run_id = self.step_runs[name].run_id
            record.status = "RUNNING"
            self.batch.steps.append(record)
            # one transaction: what finished since the last flush, and this step's run (which
            # must exist before the step can log to it)
            self._flush()
        record.attempts = attempt
        record.status = "RUNNING"
        self.state[name] = "running"
        spec = TaskSpec(
            node=name,
            step=node.step,
            inputs={
                a: InputSpec(r["hash"], r["materializer"], r.get("meta") or {})
                for a, r in nk.inputs.items()
            },
            literals=nk.literals,
            output_types=node.step.output_types(),
            settings=self.ctx.settings,
            run_id=record.run_id,
            materializers=self.materializers,
            attempt=attempt,
            run=self.step_runs.get(name),
        )
        inline = getattr(exe, "run_inline", None)
        if inline is not None:  # the local executor: no pickling, the live function runs
            self.futures[inline(spec, node.step.timeout)] = (name, nk, spec)
            return
        import cloudpickle

        try:
            payload = cloudpickle.dumps(spec, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # reported as the step's failure
            self._fail(
                name,
                f"step {name!r} could not be sent to the {exe.name} executor: its function or "
                f"arguments cannot be pickled ({type(exc).__name__}: {exc})",
            )
            return
        task = StepTask(name, payload, node.step.resources, node.step.timeout)
        try:
            future = exe.submit(task)
        except LoopmlError as exc:
            self._fail(
                name, f"step {name!r}: the {exe.name} executor refused it: {exc.message}", nk=nk
            )
            return
        self.futures[future] = (name, nk, spec)

    def _complete(self, exe: Executor, future: Future[Any]) -> None:
        name, nk, spec = self.futures.pop(future)
        step = self.graph.nodes[name].step
        try:
            raw = future.result()
            result: dict[str, Any] = raw if isinstance(raw, dict) else pickle.loads(raw)  # noqa: S301
        except LoopmlError as exc:
            result = {"ok": False, "error": {"message": exc.message}, "logs": "", "warnings": []}
        except Exception as exc:  # an executor failure is the step's failure
            message = f"step {name!r}: the {exe.name} executor failed: {type(exc).__name__}: {exc}"
            result = {"ok": False, "error": {"message": message}, "logs": "", "warnings": []}
        for message in result.get("warnings") or []:
            warnings.warn(message, PipelineWarning, stacklevel=2)
        if result["ok"]:
            record = self.records[name]
            record.duration_ms = result["duration_ms"]
            self._succeed(
                name,
                nk,
                result["outputs"],
                result["duration_ms"],
                result["logs"],
                result.get("metrics"),
            )
            return
        if spec.attempt <= step.retries:
            self._submit(exe, name, nk, spec.attempt + 1)
            return
        self._fail(name, result["error"]["message"], result.get("logs") or "", nk)

    # -- outcomes ---------------------------------------------------------------------------
    def _cached(self, name: str, nk: NodeKey, hit: StepRecord) -> None:
        record = self.records[name]
        now = _now()
        record.cache_hit = True
        record.attempts = 0
        record.started_ms = now
        record.run_id = self.tracker.cached_step_run(name, nk.literals, hit, now, self.batch)
        self.outputs[name] = hit.outputs
        self._finish(name, "CACHED", nk=nk, duration=0.0)
        self._edges(name, nk, hit.outputs)
        if self.graph.nodes[name].kind == "register":
            from loopml.pipeline.worker import load_output

            uri = load_output(hit.outputs[0], self.ctx)
            if isinstance(uri, str):
                self.registered.append(uri)
                self.batch.edges.append((step_node(self.record.run_id, name), uri))

    def _succeed(
        self,
        name: str,
        nk: NodeKey,
        outputs: list[dict[str, Any]],
        duration: float,
        logs: str = "",
        metrics: dict[str, float] | None = None,
    ) -> None:
        record = self.records[name]
        record.cache_hit = False
        self.outputs[name] = outputs
        self._finish(name, "FINISHED", nk=nk, duration=duration)
        self._edges(name, nk, outputs)
        if record.run_id is not None:
            self.tracker.executed_step_run(
                record, nk, outputs, logs, "FINISHED", self.batch, metrics
            )

    def _fail(self, name: str, message: str, logs: str = "", nk: NodeKey | None = None) -> None:
        record = self.records[name]
        self.error = self.error or message
        self._finish(name, "FAILED", nk=nk, error=message)
        if record.run_id is not None:
            self.tracker.executed_step_run(record, None, [], logs, "FAILED", self.batch)

    def _finish(
        self,
        name: str,
        status: str,
        *,
        nk: NodeKey | None = None,
        duration: float | None = None,
        error: str | None = None,
    ) -> None:
        record = self.records[name]
        record.status = status
        record.error = error
        record.ended_ms = _now()
        if record.started_ms is None and status != "SKIPPED":
            record.started_ms = record.ended_ms
        if duration is not None:
            record.duration_ms = float(duration)
        if nk is not None:
            record.cache_key = nk.key
            record.components = nk.parts
        if status in DONE:
            record.outputs = self.outputs[name]
        else:
            record.outputs = []
        self.state[name] = {"FAILED": "failed", "SKIPPED": "skipped"}.get(status, "done")
        self.batch.steps.append(record)

    def _edges(self, name: str, nk: NodeKey, outputs: list[dict[str, Any]]) -> None:
        me = step_node(self.record.run_id, name)
        old = self.existing.get(name)
        if old is not None and old.status in DONE:  # run again in a resume: new lineage
            self.batch.stale_nodes.append(me)
        edges = self.batch.edges
        edges.extend((uri, me) for uri in dict.fromkeys(nk.datasets))
        edges.extend((f"obj:{r['hash']}", me) for r in nk.inputs.values())
        edges.extend((me, f"obj:{o['hash']}") for o in outputs)

    def _flush(self) -> None:
        if self.batch:
            self.store.save(self.record.run_id, self.batch)
            self.batch = StepBatch()

    def _close(self) -> PipelineRun:
        failed = any(s == "failed" for s in self.state.values())
        status = "FAILED" if failed else "FINISHED"
        ended = _now()
        registered = list(dict.fromkeys([*self.record.registered, *self.registered]))
        self.store.finish_run(
            self.record.run_id,
            status,
            ended,
            self.error if failed else None,
            registered,
            self.batch,
        )
        self.batch = StepBatch()
        self.tracker.close()
        self.record.status = status
        self.record.ended_ms = ended
        self.record.error = self.error if failed else None
        self.record.registered = registered
        return PipelineRun.from_records(self.record, list(self.records.values()))
