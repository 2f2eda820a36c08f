"""Intermediate values from inside a running trial, and the pruning decision they lead to.

A trial runs in this process, a worker process or a Ray task; wherever it runs, the code of
the objective (or of a step of the tuned pipeline) calls :func:`report`. The reporter of the
current trial writes the value to the study's shared storage, logs it as a metric of the
trial's run and raises :class:`TrialPruned` when the pruner says the trial is hopeless.
"""

from __future__ import annotations

import math
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from loopml.errors import InvalidParameterError, LoopmlError

__all__ = ["JournalReporter", "Reporter", "TrialPruned", "current_reporter", "report", "trial"]


class TrialPruned(LoopmlError):  # noqa: N818  (named like optuna.TrialPruned on purpose)
    """Raised by :func:`report` to stop a trial the pruner judged hopeless; let it propagate."""

    code = "INVALID_STATE"


class Reporter(ABC):
    """Where a trial's intermediate values go (subclasses talk to one kind of storage)."""

    trial_number: int
    run_id: str | None
    metric: str

    @abstractmethod
    def should_prune(self, value: float, step: int) -> bool:
        """Record ``value`` at ``step`` and say whether the pruner stops the trial."""

    last_step: int | None = None
    pruned: bool = False  # set before raising, for callers that catch every exception

    def report(self, value: float, step: int) -> None:
        self.last_step = step if self.last_step is None else max(self.last_step, step)
        if self.run_id is not None:
            from loopml.tracking import fluent

            fluent.client().log_metric(self.run_id, self.metric, value, step)
        if self.should_prune(value, step):
            self.pruned = True
            raise TrialPruned(
                f"trial {self.trial_number} pruned at step {step} "
                f"({self.metric}={value:g} is worse than the pruner allows)",
                trial=self.trial_number,
                step=step,
            )


@dataclass
class JournalReporter(Reporter):
    """Reports through an Optuna journal file that the tuning process reads as well."""

    storage_path: str
    study_name: str
    trial_id: int
    trial_number: int
    pruner: Any
    run_id: str | None = None
    metric: str = "objective"
    _trial: Any = field(default=None, repr=False)

    def _optuna_trial(self) -> Any:
        if self._trial is None:
            import optuna
            from optuna.storages.journal import JournalFileBackend, JournalStorage

            storage = JournalStorage(JournalFileBackend(self.storage_path))
            study = optuna.load_study(
                study_name=self.study_name,
                storage=storage,
                sampler=optuna.samplers.RandomSampler(),
                pruner=self.pruner,
            )
            self._trial = optuna.trial.Trial(study, self.trial_id)
        return self._trial

    def should_prune(self, value: float, step: int) -> bool:
        trial = self._optuna_trial()
        trial.report(value, step)
        return bool(trial.should_prune())


_state = threading.local()
_process_reporter: Reporter | None = None


def current_reporter() -> Reporter | None:
    """The reporter of the trial running here: this thread's, else this process's."""
    return getattr(_state, "reporter", None) or _process_reporter


class trial:  # noqa: N801  (used as a context manager, like a function)
    """Make ``reporter`` the current one while a trial runs (thread- and process-wide, so
    steps a tuned pipeline runs on worker threads report into the same trial)."""

    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter

    def __enter__(self) -> Reporter:
        global _process_reporter
        self._previous = (getattr(_state, "reporter", None), _process_reporter)
        _state.reporter = self.reporter
        _process_reporter = self.reporter
        return self.reporter

    def __exit__(self, *exc: object) -> None:
        global _process_reporter
        _state.reporter, _process_reporter = self._previous


def report(value: float, step: int) -> None:
    """Report an intermediate objective ``value`` at ``step`` (an epoch, a number of trees).

    Inside a tuning trial the value is logged on the trial's run and given to the pruner,
    which may stop the trial by raising :class:`TrialPruned` (let it propagate). Outside a
    trial it is logged as metric ``objective`` of the active run, if there is one, so an
    objective also runs unchanged on its own.
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidParameterError(f"report() needs a finite number, got {value!r}")
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise InvalidParameterError(f"report() needs a step that is an integer >= 0, got {step!r}")
    reporter = current_reporter()
    if reporter is not None:
        reporter.report(float(value), step)
        return
    from loopml.tracking import fluent

    active = fluent.active_run()
    if active is not None:
        fluent.client().log_metric(active.run_id, "objective", float(value), step)
