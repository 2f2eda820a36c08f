"""The flavor registry: how each kind of model is saved, and which module loads it back.

Modules are named, not imported: detecting a model's flavor reads the module names of its
class (``xgboost.sklearn`` -> xgboost), so importing loopml never imports torch or xgboost,
and loading a package imports only the one loader its manifest names.
"""

from __future__ import annotations

import importlib
from typing import Any

from loopml.errors import InvalidParameterError
from loopml.models.flavors.base import Flavor, Predictor, Saved

__all__ = ["FLAVORS", "Flavor", "Predictor", "Saved", "detect_flavor", "get_flavor"]

FLAVORS: dict[str, str] = {
    "sklearn": "loopml.models.flavors.sklearn",
    "xgboost": "loopml.models.flavors.xgboost",
    "lightgbm": "loopml.models.flavors.lightgbm",
    "pytorch": "loopml.models.flavors.pytorch",
    "onnx": "loopml.models.flavors.onnx",
    "python": "loopml.models.flavors.python",
}

# The first class in a model's MRO whose top-level module is one of these names its flavor.
_BY_MODULE = {
    "xgboost": "xgboost",
    "lightgbm": "lightgbm",
    "torch": "pytorch",
    "onnx": "onnx",
    "sklearn": "sklearn",
}


def detect_flavor(model: Any) -> str:
    from loopml.models.python_model import PythonModel

    if isinstance(model, PythonModel):
        return "python"
    for cls in type(model).__mro__:
        flavor = _BY_MODULE.get(cls.__module__.split(".", 1)[0])
        if flavor is not None:
            return flavor
    raise InvalidParameterError(
        f"loopml cannot tell the flavor of a {type(model).__module__}.{type(model).__qualname__}: "
        f"pass flavor= one of {', '.join(FLAVORS)}, or wrap it in a loopml.PythonModel",
        type=type(model).__qualname__,
    )


def get_flavor(name: str) -> Flavor:
    module = FLAVORS.get(name)
    if module is None:
        raise InvalidParameterError(
            f"unknown model flavor {name!r}; known flavors: {', '.join(FLAVORS)}", flavor=name
        )
    try:
        flavor: Flavor = importlib.import_module(module).FLAVOR
    except ImportError as exc:
        raise InvalidParameterError(
            f"the {name} flavor needs a library that is not installed ({exc.name or exc}); "
            f"install it, e.g. pip install 'loopml[{name}]'",
            flavor=name,
        ) from None
    return flavor
