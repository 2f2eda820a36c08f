"""Where trials run: this process, a pool of spawned worker processes, or Ray tasks.

Every pool takes a :class:`TrialSpec` and returns a future of its :class:`TrialOutcome`; the
spec crosses process boundaries cloudpickled, so objectives defined in a notebook or in a
pipeline file loaded by path run in workers too.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from loopml.pipeline.tune_trial import TrialOutcome, TrialSpec, execute, run_trial

__all__ = ["TrialPool", "open_pool"]


class TrialPool(ABC):
    @abstractmethod
    def submit(self, spec: TrialSpec) -> Future[TrialOutcome]:
        """Start the trial; the future never fails for a failing objective (see FAIL rows)."""

    def close(self) -> None:  # noqa: B027 -- the in-process pool holds nothing
        """Stop the workers."""


class LocalPool(TrialPool):
    """One trial at a time, in this process: best for debugging an objective."""

    def submit(self, spec: TrialSpec) -> Future[TrialOutcome]:
        future: Future[TrialOutcome] = Future()
        future.set_result(execute(spec))
        return future


def _decode(source: Future[bytes], target: Future[TrialOutcome]) -> None:
    import cloudpickle

    exc = source.exception()
    if exc is not None:
        target.set_exception(exc)
    else:
        target.set_result(cloudpickle.loads(source.result()))


def _dumps(spec: TrialSpec) -> bytes:
    import cloudpickle

    return bytes(cloudpickle.dumps(spec))


class ProcessPool(TrialPool):
    """``parallel`` long-lived worker processes (``python -m loopml.pipeline.tune_worker``),
    each fed one trial at a time by a thread of this process; a worker that dies fails its
    trial and is replaced for the next one."""

    def __init__(self, parallel: int) -> None:
        self._queue: queue.Queue[tuple[TrialSpec, Future[TrialOutcome]] | None] = queue.Queue()
        self._threads = [
            threading.Thread(target=self._serve, name=f"loopml-trials-{i}", daemon=True)
            for i in range(parallel)
        ]
        self._procs: list[subprocess.Popen[bytes]] = []
        self._lock = threading.Lock()
        for thread in self._threads:
            thread.start()

    def submit(self, spec: TrialSpec) -> Future[TrialOutcome]:
        future: Future[TrialOutcome] = Future()
        self._queue.put((spec, future))
        return future

    def _spawn(self) -> subprocess.Popen[bytes]:
        env = dict(os.environ)
        # the worker imports what this process imports: objectives by module name
        paths = [p for p in sys.path if p and Path(p).exists()]
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys([*paths, env.get("PYTHONPATH", "")]))
        proc = subprocess.Popen(
            [sys.executable, "-m", "loopml.pipeline.tune_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        with self._lock:
            self._procs.append(proc)
        return proc

    def _serve(self) -> None:
        import cloudpickle

        from loopml.pipeline.tune_worker import read_frame, write_frame

        proc: subprocess.Popen[bytes] | None = None
        while True:
            item = self._queue.get()
            if item is None:
                break
            spec, future = item
            if proc is None or proc.poll() is not None:
                proc = self._spawn()
            assert proc.stdin is not None and proc.stdout is not None
            try:
                write_frame(proc.stdin, _dumps(spec))
                data = read_frame(proc.stdout)
            except OSError:
                data = None
            if data is None:
                code = proc.wait()
                future.set_result(
                    TrialOutcome(
                        spec.number,
                        "FAIL",
                        message=f"the worker process running trial {spec.number} died "
                        f"(exit code {code}); is the objective crashing the interpreter or "
                        "running out of memory?",
                    )
                )
                proc = None
                continue
            outcome: TrialOutcome = cloudpickle.loads(data)
            outcome.number = spec.number
            future.set_result(outcome)
        if proc is not None and proc.stdin is not None:
            proc.stdin.close()
            proc.wait()

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()
        with self._lock:
            for proc in self._procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()


class RayPool(TrialPool):
    """Each trial a Ray task with one CPU, on the cluster the Ray executor connects to."""

    def __init__(self) -> None:
        from loopml.pipeline.executors.ray import RayExecutor

        self._executor = RayExecutor()
        self._oracle: Any = None

    def submit(self, spec: TrialSpec) -> Future[TrialOutcome]:
        from loopml.pipeline.executors.base import Resources

        if self._oracle is None:
            from loopml.pipeline.tune_ray import start_oracle

            self._oracle = start_oracle(spec.storage_path, spec.study_name, spec.pruner)
        spec.oracle = self._oracle
        target: Future[TrialOutcome] = Future()
        source = self._executor.submit_call(
            run_trial, _dumps(spec), f"trial-{spec.number}", Resources(cpus=1.0), None
        )

        def settle(done: Future[bytes]) -> None:
            self._oracle.forget.remote(spec.trial_id)
            _decode(done, target)

        source.add_done_callback(settle)
        return target

    def close(self) -> None:
        if self._oracle is not None:
            import ray

            ray.kill(self._oracle)
        self._executor.close()


@contextmanager
def open_pool(executor: str, parallel: int, **options: Any) -> Iterator[TrialPool]:
    pool: TrialPool
    if executor == "local":
        pool = LocalPool()
    elif executor == "ray":
        pool = RayPool(**options)
    else:
        pool = ProcessPool(parallel)
    try:
        yield pool
    finally:
        pool.close()
