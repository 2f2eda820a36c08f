"""``loopml.PythonModel``: any Python code as a model, with files it needs beside it.

Subclass it, implement ``predict(context, inputs)`` and optionally ``load_context(context)``
(to open the files named in ``artifacts`` once, at load time, not on every call).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["PythonModel", "PythonModelContext"]


@dataclass(frozen=True)
class PythonModelContext:
    """What a loaded python model sees: ``artifacts`` maps each name to a local path."""

    artifacts: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)


class PythonModel:
    """Base class of plain-Python models; the instance is pickled (cloudpickle) into the package."""

    def load_context(self, context: PythonModelContext) -> None:
        """Called once after loading; open artifacts here."""

    def predict(self, context: PythonModelContext, inputs: Any) -> Any:
        raise NotImplementedError("a PythonModel subclass implements predict(context, inputs)")
