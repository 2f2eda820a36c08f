"""What a flavor implements: save a model into a folder, and load a predictor from one."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from loopml.models.enforce import InputKind

__all__ = ["Flavor", "Predictor", "Saved"]


@dataclass
class Saved:
    """What ``Flavor.save`` reports: loader options (JSON), the distributions the model needs
    to load, and the input the model wants (a DataFrame or a numpy array)."""

    options: dict[str, Any] = field(default_factory=dict)
    requirements: list[str] = field(default_factory=list)
    wants: InputKind = "array"


class Predictor(Protocol):
    """A loaded model: ``methods`` it supports and ``predict`` on already-checked input."""

    @property
    def methods(self) -> frozenset[str]: ...

    def predict(self, data: Any, method: str) -> Any: ...


class Flavor(Protocol):
    name: str

    def save(self, model: Any, path: Path, options: dict[str, Any]) -> Saved: ...

    def load(self, path: Path, options: dict[str, Any]) -> Predictor: ...


def methods_of(
    model: Any, candidates: tuple[str, ...] = ("predict", "predict_proba")
) -> frozenset[str]:
    return frozenset(m for m in candidates if callable(getattr(model, m, None)))
