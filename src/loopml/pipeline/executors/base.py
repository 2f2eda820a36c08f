"""What every executor implements: run a self-contained step task somewhere, return its bytes.

A task's payload is a cloudpickled :class:`~loopml.pipeline.worker.TaskSpec`: the step's
function, the object hashes of its inputs, its literal arguments and the project's settings.
:func:`run_task` runs it in whatever process receives it (this one, a pool worker, a Ray
task): inputs come from the content-addressed object store and outputs go back into it, so
only hashes travel between processes.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from loopml.errors import InvalidParameterError, StepFailedError

__all__ = ["Executor", "Resources", "StepTask", "StepTimeoutError", "get_executor", "run_task"]


class StepTimeoutError(StepFailedError):
    """A step ran longer than its ``timeout`` and was stopped."""

    def __init__(self, step: str, timeout_s: float) -> None:
        super().__init__(
            f"step {step!r} timed out after {timeout_s:g} s and was stopped; raise its "
            f"timeout (@step(timeout=...)) or make it faster",
            step=step,
            timeout_s=timeout_s,
        )


@dataclass(frozen=True)
class Resources:
    """What a step asks for; executors that can (Ray, the process pool's cpus) honour it."""

    cpus: float = 1.0
    memory_mb: int | None = None
    gpus: float = 0.0


@dataclass(frozen=True)
class StepTask:
    step: str  # the node's name in the graph, for messages and logs
    payload: bytes
    resources: Resources
    timeout_s: float | None


def run_task(payload: bytes) -> bytes:
    """Run one step task from its payload and return the pickled result.

    Never raises for a failing step: the result carries the error (type, message, traceback)
    so that exceptions that cannot be pickled still reach the pipeline run intact.
    """
    from loopml.pipeline.worker import run_payload

    return run_payload(payload)


class Executor(ABC):
    name: str = "executor"

    @abstractmethod
    def submit(self, task: StepTask) -> Future[bytes]:
        """Start ``task``; the future resolves to what :func:`run_task` returned for it.

        A step that outlives ``task.timeout_s`` fails the future with
        :class:`StepTimeoutError`; any other exception on the future means the executor
        itself failed (a worker died, the cluster is unreachable), not the step.
        """

    def close(self) -> None:  # noqa: B027 -- executors without resources keep the default
        """Release workers; the executor is unusable afterwards."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_BUILTIN = {
    "local": "loopml.pipeline.executors.local:LocalExecutor",
    "process": "loopml.pipeline.executors.process:ProcessExecutor",
    "ray": "loopml.pipeline.executors.ray:RayExecutor",
}


def get_executor(name: str, **options: Any) -> Executor:
    """``"local"`` (in-process, default), ``"process"`` (a pool of worker processes) or
    ``"ray"`` (a Ray cluster; ``pip install 'loopml[ray]'``)."""
    target = _BUILTIN.get(name)
    if target is None:
        raise InvalidParameterError(
            f"unknown executor {name!r}: choose one of {', '.join(_BUILTIN)}", executor=name
        )
    module, _, attr = target.partition(":")
    cls: type[Executor] = getattr(importlib.import_module(module), attr)
    return cls(**options)
