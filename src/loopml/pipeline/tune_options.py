"""Checking tune()'s options and turning names into Optuna samplers and pruners."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from loopml.errors import InvalidParameterError
from loopml.pipeline.tune_space import Dimension

__all__ = [
    "PRUNERS",
    "SAMPLERS",
    "check_options",
    "describe",
    "import_optuna",
    "make_pruner",
    "make_sampler",
]

SAMPLERS = ("tpe", "random", "cmaes", "qmc", "gp")
PRUNERS = ("median", "percentile", "hyperband", "halving", "none")


def describe(dim: Dimension) -> dict[str, Any]:
    if dim.type == "categorical":
        return {"type": "categorical", "choices": list(dim.choices)}
    return {"type": dim.type, "low": dim.low, "high": dim.high, "step": dim.step, "log": dim.log}


def check_options(
    n_trials: int, parallel: int, executor: str, direction: str, sampler: str, pruner: str | None
) -> None:
    for name, value in (("n_trials", n_trials), ("parallel", parallel)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidParameterError(f"{name} must be an integer >= 1, got {value!r}")
    if executor not in ("local", "process", "ray"):
        raise InvalidParameterError(
            f"unknown executor {executor!r} for trials: choose local, process or ray"
        )
    if executor == "local" and parallel > 1:
        raise InvalidParameterError(
            "executor 'local' runs one trial at a time in this process; use executor='process' "
            "or 'ray' for parallel trials"
        )
    if direction not in ("maximize", "minimize"):
        raise InvalidParameterError(
            f"direction must be 'maximize' or 'minimize', got {direction!r}"
        )
    if sampler not in SAMPLERS:
        raise InvalidParameterError(
            f"unknown sampler {sampler!r}: choose one of {', '.join(SAMPLERS)}"
        )
    if pruner is not None and pruner not in PRUNERS:
        raise InvalidParameterError(
            f"unknown pruner {pruner!r}: choose one of {', '.join(PRUNERS)} (or None)"
        )


def import_optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise InvalidParameterError("tuning needs Optuna: pip install 'loopml[tune]'") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def make_sampler(optuna: Any, name: str, seed: int | None) -> Any:
    makers: dict[str, Callable[[], Any]] = {
        "tpe": lambda: optuna.samplers.TPESampler(seed=seed),
        "random": lambda: optuna.samplers.RandomSampler(seed=seed),
        "cmaes": lambda: optuna.samplers.CmaEsSampler(seed=seed),
        "qmc": lambda: optuna.samplers.QMCSampler(seed=seed),
        "gp": lambda: optuna.samplers.GPSampler(seed=seed),
    }
    return makers[name]()


def make_pruner(optuna: Any, name: str | None) -> Any:
    pruners = optuna.pruners
    makers: dict[str, Callable[[], Any]] = {
        "median": lambda: pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1),
        "percentile": lambda: pruners.PercentilePruner(25.0, n_startup_trials=3),
        "hyperband": pruners.HyperbandPruner,
        "halving": pruners.SuccessiveHalvingPruner,
        "none": pruners.NopPruner,
    }
    return makers[name or "none"]()
