"""The process-pool executor: independent steps run in parallel in worker processes.

Workers are long-lived (one import of the step's modules each) and talk over a pipe, one task
at a time. A step that outlives its timeout has its worker killed, which is the only way to
stop arbitrary Python code; the pool starts a fresh worker in its place. A step's ``cpus``
takes that many of the pool's slots.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import threading
from concurrent.futures import Future
from multiprocessing.connection import Connection
from typing import Any

from loopml.errors import InvalidParameterError, InvalidStateError, StepFailedError
from loopml.pipeline.executors.base import Executor, StepTask, StepTimeoutError, run_task

__all__ = ["ProcessExecutor"]


def _worker_main(conn: Connection, parent_end: Connection | None = None) -> None:
    if parent_end is not None:  # a forked child holds a copy of the pool's end: drop it
        parent_end.close()
    while True:
        try:
            payload = conn.recv_bytes()
        except (EOFError, OSError):
            return
        if not payload:  # the pool's stop signal
            return
        conn.send_bytes(run_task(payload))


class _Worker:
    def __init__(self, mp: Any) -> None:
        parent, child = mp.Pipe(duplex=True)
        self.conn: Connection = parent
        forked = mp.get_start_method() == "fork"
        self.process = mp.Process(
            target=_worker_main, args=(child, parent if forked else None), daemon=True
        )
        self.process.start()
        child.close()

    def stop(self, kill: bool = False) -> None:
        try:
            if not kill:
                self.conn.send_bytes(b"")
            self.conn.close()
        except OSError:
            pass
        if kill and self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)


class ProcessExecutor(Executor):
    name = "process"

    def __init__(self, max_workers: int | None = None, start_method: str | None = None) -> None:
        workers = max_workers if max_workers is not None else (os.cpu_count() or 2)
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise InvalidParameterError(f"max_workers must be a whole number >= 1, got {workers!r}")
        self.max_workers = workers
        try:
            # Spawn, not fork: a child forked after the parent trained with OpenMP (scikit-learn,
            # LightGBM) can hang in the copied thread-pool state; and unlike a forkserver, a
            # spawned worker sees the environment as it is when the run starts.
            self._mp = multiprocessing.get_context(start_method or "spawn")
        except ValueError:
            raise InvalidParameterError(
                f"unknown start method {start_method!r}: use fork, forkserver or spawn"
            ) from None
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._free = workers
        self._cond = threading.Condition()
        self._closed = False

    def submit(self, task: StepTask) -> Future[bytes]:
        if self._closed:
            raise InvalidStateError("this process executor is closed")
        future: Future[bytes] = Future()
        need = min(max(1, math.ceil(task.resources.cpus)), self.max_workers)
        threading.Thread(
            target=self._run, args=(task, future, need), name=f"loopml-{task.step}", daemon=True
        ).start()
        return future

    def _run(self, task: StepTask, future: Future[bytes], need: int) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._free >= need or self._closed)
            if self._closed:
                future.set_exception(InvalidStateError("the process executor was closed"))
                return
            self._free -= need
            worker = self._idle.pop() if self._idle else None
        try:
            if worker is None:
                worker = _Worker(self._mp)
            with self._cond:
                self._busy.add(worker)
            self._exchange(worker, task, future)
        except BaseException as exc:  # every outcome settles the future
            if not future.done():
                future.set_exception(exc)
        finally:
            with self._cond:
                self._free += need
                self._cond.notify_all()

    def _exchange(self, worker: _Worker, task: StepTask, future: Future[bytes]) -> None:
        try:
            worker.conn.send_bytes(task.payload)
            ready = worker.conn.poll(task.timeout_s)
            if not ready:
                self._retire(worker, kill=True)
                future.set_exception(StepTimeoutError(task.step, task.timeout_s or 0.0))
                return
            data = worker.conn.recv_bytes()
        except (EOFError, OSError):
            worker.process.join(timeout=2)  # reap it, so its exit code is known
            code = worker.process.exitcode
            self._retire(worker, kill=True)
            future.set_exception(
                StepFailedError(
                    f"step {task.step!r}: its worker process died (exit code {code}); the step "
                    "may have crashed the interpreter or run out of memory",
                    step=task.step,
                )
            )
            return
        with self._cond:
            self._busy.discard(worker)
            if self._closed:
                worker.stop()
            else:
                self._idle.append(worker)
        future.set_result(data)

    def _retire(self, worker: _Worker, kill: bool) -> None:
        with self._cond:
            self._busy.discard(worker)
        worker.stop(kill=kill)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            busy = list(self._busy)
            self._cond.notify_all()
        for worker in idle:
            worker.stop()
        for worker in busy:
            worker.stop(kill=True)
