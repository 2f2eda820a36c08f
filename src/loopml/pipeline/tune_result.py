"""What a tuning job returns: every trial, the best one, and a way to register its model."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from loopml.errors import InvalidStateError, NotFoundError

if TYPE_CHECKING:
    from loopml.store.metadata.registry_entities import ModelVersion

__all__ = ["TrialRow", "TuneResult"]


@dataclass(frozen=True)
class TrialRow:
    """One trial: its Optuna number, state, objective value, params and tracked run."""

    number: int
    state: str  # COMPLETE, PRUNED or FAIL
    value: float | None
    params: dict[str, Any]
    run_id: str
    pipeline_run_id: str | None = None
    duration_s: float = 0.0
    message: str | None = None


@dataclass
class TuneResult:
    """The outcome of :func:`loopml.pipeline.tune.tune`.

    ``run_id`` is the parent tuning run; each trial is a nested run under it.
    """

    run_id: str
    study_name: str
    direction: str
    metric: str
    trials: list[TrialRow] = field(default_factory=list)
    storage_path: str | None = None

    @property
    def completed(self) -> list[TrialRow]:
        return [t for t in self.trials if t.state == "COMPLETE"]

    @property
    def best_trial(self) -> TrialRow:
        done = self.completed
        if not done:
            raise InvalidStateError("no trial completed, so there is no best trial")
        sign = 1.0 if self.direction == "maximize" else -1.0
        return max(done, key=lambda t: (sign * (t.value or 0.0), -t.number))

    @property
    def best_params(self) -> dict[str, Any]:
        return dict(self.best_trial.params)

    @property
    def best_value(self) -> float:
        value = self.best_trial.value
        assert value is not None
        return value

    @property
    def best_run_id(self) -> str:
        """The best trial's tracked run."""
        return self.best_trial.run_id

    def to_pandas(self) -> Any:
        """One row per trial: number, state, value, duration, run ids and ``params.<name>``."""
        import pandas as pd

        rows = []
        for trial in self.trials:
            row = {k: v for k, v in asdict(trial).items() if k != "params"}
            row.update({f"params.{k}": v for k, v in trial.params.items()})
            rows.append(row)
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        states = {s: sum(t.state == s for t in self.trials) for s in ("COMPLETE", "PRUNED", "FAIL")}
        best = f", best {self.metric}={self.best_value:g}" if self.completed else ""
        counts = ", ".join(f"{n} {s.lower()}" for s, n in states.items() if n)
        return f"<TuneResult {self.study_name}: {counts}{best}>"

    def register(self, name: str, *, description: str | None = None) -> ModelVersion:
        """Register the model that the best trial's pipeline run produced as ``name``."""
        from loopml.pipeline.tune_models import model_uri_of_run
        from loopml.registry import register_model

        best = self.best_trial
        if best.pipeline_run_id is None:
            raise NotFoundError(
                f"the best trial ({best.number}) ran a plain objective, not a pipeline, so it "
                "produced no model package; log one inside the objective with "
                "loopml.log_model(...) and register it with loopml.register_model(uri, name)"
            )
        uri = model_uri_of_run(best.pipeline_run_id)
        tags = {
            "loopml.tune.run": self.run_id,
            "loopml.tune.trial": best.number,
            f"loopml.tune.{self.metric}": best.value,
        }
        return register_model(uri, name, description=description, tags=tags)
