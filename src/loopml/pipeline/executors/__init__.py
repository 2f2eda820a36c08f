"""Where steps run: in this process, in a pool of worker processes, or on a Ray cluster."""

from loopml.pipeline.executors.base import (
    Executor,
    Resources,
    StepTask,
    StepTimeoutError,
    get_executor,
    run_task,
)

__all__ = ["Executor", "Resources", "StepTask", "StepTimeoutError", "get_executor", "run_task"]
