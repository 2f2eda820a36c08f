"""The search space of a tuning job: a YAML file or a dict, checked before any trial runs.

One entry per parameter::

    n_estimators: {type: int, low: 50, high: 300}
    lr:           {type: float, low: 1.0e-4, high: 0.1, log: true}
    criterion:    {type: categorical, choices: [gini, entropy]}

A mistake names the parameter and the field, so a typo in a 20-line space file is found at
once instead of after the first trial fails.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loopml.errors import InvalidParameterError, NotFoundError

__all__ = ["Dimension", "load_space"]

_FIELDS = {
    "int": {"type", "low", "high", "step", "log"},
    "float": {"type", "low", "high", "step", "log"},
    "categorical": {"type", "choices"},
}


@dataclass(frozen=True)
class Dimension:
    """One searched parameter; ``suggest`` asks an Optuna trial for its value."""

    name: str
    type: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()

    def suggest(self, trial: Any) -> Any:
        if self.type == "categorical":
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.type == "int":
            assert self.low is not None and self.high is not None
            return trial.suggest_int(
                self.name,
                int(self.low),
                int(self.high),
                step=int(self.step or 1),
                log=self.log,
            )
        return trial.suggest_float(
            self.name, float(self.low or 0.0), float(self.high or 0.0), step=self.step, log=self.log
        )


def load_space(space: Mapping[str, Any] | str | Path) -> list[Dimension]:
    """Parse and check ``space`` (a mapping, or the path of a YAML file holding one)."""
    if isinstance(space, str | Path):
        space = _read_yaml(Path(space))
    if not isinstance(space, Mapping) or not space:
        raise InvalidParameterError(
            "the search space must be a non-empty mapping of parameter name -> "
            "{type: int|float|categorical, ...}"
        )
    return [_dimension(str(name), spec) for name, spec in space.items()]


def _read_yaml(path: Path) -> Any:
    import yaml

    if not path.is_file():
        raise NotFoundError(f"search space file {path} does not exist", path=str(path))
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise InvalidParameterError(f"search space file {path} is not valid YAML: {exc}") from exc


def _bad(name: str, problem: str) -> InvalidParameterError:
    return InvalidParameterError(f"search space key {name!r}: {problem}", key=name)


def _dimension(name: str, spec: Any) -> Dimension:
    if not name.isidentifier():
        raise _bad(name, "parameter names must be Python identifiers (they become step params)")
    if not isinstance(spec, Mapping):
        raise _bad(name, f"expected a mapping like {{type: int, low: 1, high: 10}}, got {spec!r}")
    kind = spec.get("type")
    if kind not in _FIELDS:
        raise _bad(name, f"'type' must be one of int, float, categorical; got {kind!r}")
    unknown = sorted(set(spec) - _FIELDS[kind])
    if unknown:
        allowed = ", ".join(sorted(_FIELDS[kind]))
        raise _bad(name, f"unknown field(s) {', '.join(unknown)} for type {kind} ({allowed})")
    if kind == "categorical":
        return _categorical(name, spec)
    return _numeric(name, kind, spec)


def _categorical(name: str, spec: Mapping[str, Any]) -> Dimension:
    choices = spec.get("choices")
    if not isinstance(choices, list | tuple) or not choices:
        raise _bad(name, "'choices' must be a non-empty list")
    for choice in choices:
        if choice is not None and not isinstance(choice, bool | int | float | str):
            raise _bad(name, f"choice {choice!r} is not a string, number, bool or null")
    if len({repr(c) for c in choices}) != len(choices):
        raise _bad(name, "'choices' holds a value twice")
    return Dimension(name, "categorical", choices=tuple(choices))


def _number(name: str, field: str, value: Any, *, integer: bool) -> float:
    ok = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok:
        kind = "an integer" if integer else "a number"
        raise _bad(name, f"{field!r} must be {kind}, got {value!r}")
    if not math.isfinite(value):
        raise _bad(name, f"{field!r} must be finite, got {value!r}")
    return float(value)


def _numeric(name: str, kind: str, spec: Mapping[str, Any]) -> Dimension:
    integer = kind == "int"
    for field in ("low", "high"):
        if field not in spec:
            raise _bad(name, f"type {kind} needs {field!r}")
    low = _number(name, "low", spec["low"], integer=integer)
    high = _number(name, "high", spec["high"], integer=integer)
    if low > high:
        raise _bad(name, f"'low' ({spec['low']}) is greater than 'high' ({spec['high']})")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise _bad(name, f"'log' must be true or false, got {log!r}")
    step: float | None = None
    if spec.get("step") is not None:
        step = _number(name, "step", spec["step"], integer=integer)
        if step <= 0:
            raise _bad(name, f"'step' must be positive, got {spec['step']}")
        if log:
            raise _bad(name, "'step' and 'log: true' cannot be combined")
    if log and low <= 0:
        raise _bad(name, f"'log: true' needs 'low' > 0, got {spec['low']}")
    return Dimension(name, kind, low=low, high=high, step=step, log=log)
