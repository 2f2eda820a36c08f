"""The in-process executor (default): steps run one at a time in this process.

Best for debugging (breakpoints and tracebacks work as usual). A step with a timeout runs in
a helper thread so the pipeline can stop waiting for it; Python cannot kill a thread, so the
step's code keeps running in the background until it returns: use the process executor when a
timeout must really stop the work.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, TypeVar

from loopml.pipeline.executors.base import Executor, StepTask, StepTimeoutError, run_task

if TYPE_CHECKING:
    from loopml.pipeline.worker import TaskSpec

__all__ = ["LocalExecutor"]

T = TypeVar("T")


def _call(step: str, fn: Callable[[], T], timeout_s: float | None) -> Future[T]:
    future: Future[T] = Future()
    if timeout_s is None:
        future.set_result(fn())
        return future
    box: list[T] = []
    worker = threading.Thread(
        target=lambda: box.append(fn()), name=f"loopml-step-{step}", daemon=True
    )
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive() or not box:
        future.set_exception(StepTimeoutError(step, timeout_s))
    else:
        future.set_result(box[0])
    return future


class LocalExecutor(Executor):
    name = "local"

    def submit(self, task: StepTask) -> Future[bytes]:
        return _call(task.step, lambda: run_task(task.payload), task.timeout_s)

    def run_inline(self, spec: TaskSpec, timeout_s: float | None) -> Future[dict[str, Any]]:
        """Run a step spec as it is, unpickled: in this process a step may use globals that
        cannot be pickled (a lock, an open connection), as any function can."""
        from loopml.pipeline.worker import execute

        return _call(spec.node, lambda: execute(spec), timeout_s)
