"""``loopml.PythonModel``: any Python code as a model, with files it needs beside it.

Subclass it, implement ``predict(context, inputs)`` and optionally ``load_context(context)``
(to open the files named in ``artifacts`` once, at load time, not on every call).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PythonModel", "PythonModelContext"]


@dataclass(frozen=True)
class PythonModelContext:
    """What a loaded python model sees: ``artifacts`` maps each name to a local path."""

    artifacts: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)


class PythonModel(ABC):
    """Base class of plain-Python models; the instance is pickled (cloudpickle) into the package.

    ``predict`` is abstract, so a subclass that forgets it fails when it is created, not later
    in a serving host.
    """

    def load_context(self, context: PythonModelContext) -> None:
        """Called once after loading; open artifacts here (optional: nothing by default)."""
        return

    @abstractmethod
    def predict(self, context: PythonModelContext, inputs: Any) -> Any:
        """Predict for ``inputs`` (checked against the signature before this is called)."""
