"""Pruning for trials on other machines: a Ray actor beside the tuning process.

A trial on another node of a Ray cluster cannot open the study's journal file, so its
:func:`~loopml.pipeline.tune_report.report` calls go to an actor pinned to the tuning process's
node, which reports into the journal and answers whether to prune.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loopml.pipeline.tune_report import JournalReporter, Reporter

__all__ = ["PruneOracle", "RayReporter", "start_oracle"]


class PruneOracle:
    """The actor: one Optuna trial handle per running trial, over the shared journal."""

    def __init__(self, storage_path: str, study_name: str, pruner: Any) -> None:
        self.storage_path, self.study_name, self.pruner = storage_path, study_name, pruner
        self.reporters: dict[int, JournalReporter] = {}

    def should_prune(self, trial_id: int, trial_number: int, value: float, step: int) -> bool:
        reporter = self.reporters.get(trial_id)
        if reporter is None:
            reporter = self.reporters[trial_id] = JournalReporter(
                storage_path=self.storage_path,
                study_name=self.study_name,
                trial_id=trial_id,
                trial_number=trial_number,
                pruner=self.pruner,
            )
        return reporter.should_prune(value, step)

    def forget(self, trial_id: int) -> None:
        self.reporters.pop(trial_id, None)


def start_oracle(storage_path: str, study_name: str, pruner: Any) -> Any:
    """Start the actor on this process's node (where the journal file is); no CPU reserved."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    here = ray.get_runtime_context().get_node_id()
    actor = ray.remote(num_cpus=0, max_restarts=0)(PruneOracle)
    return actor.options(
        scheduling_strategy=NodeAffinitySchedulingStrategy(here, soft=False),
        name=f"loopml-prune-{study_name}",
    ).remote(storage_path, study_name, pruner)


@dataclass
class RayReporter(Reporter):
    """A trial's reporter when it runs as a Ray task: asks the oracle actor."""

    oracle: Any
    trial_id: int
    trial_number: int
    run_id: str | None = None
    metric: str = "objective"

    def should_prune(self, value: float, step: int) -> bool:
        import ray

        ref = self.oracle.should_prune.remote(self.trial_id, self.trial_number, value, step)
        return bool(ray.get(ref))
