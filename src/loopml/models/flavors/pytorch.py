"""PyTorch modules: TorchScript when the model is scripted, else a state dict + module path.

``torch.jit.script`` is deprecated, so a plain ``nn.Module`` is saved as its weights and the
import path of its class (``package.module:Class``) with the keyword arguments to build it
(``flavor_options={"init_kwargs": {...}}``); the class must be importable where it loads.
"""

from __future__ import annotations

import importlib
import warnings
from pathlib import Path
from typing import Any

from loopml.errors import InvalidParameterError
from loopml.models.flavors.base import Saved
from loopml.models.requirements import distributions_for_modules

WEIGHTS_FILE = "state_dict.pt"
SCRIPT_FILE = "model.torchscript.pt"


class TorchPredictor:
    methods = frozenset({"predict"})

    def __init__(self, model: Any) -> None:
        self.model = model.eval()

    def predict(self, data: Any, method: str) -> Any:
        import numpy as np
        import torch

        tensor = torch.from_numpy(np.ascontiguousarray(data))
        with torch.inference_mode():
            out = self.model(tensor)
        return out.numpy() if isinstance(out, torch.Tensor) else out


class PyTorchFlavor:
    name = "pytorch"

    def save(self, model: Any, path: Path, options: dict[str, Any]) -> Saved:
        import torch

        if isinstance(model, torch.jit.ScriptModule):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                torch.jit.save(model, str(path / SCRIPT_FILE))
            return Saved({"format": "torchscript", "file": SCRIPT_FILE}, ["torch", "numpy"])
        cls = type(model)
        if cls.__module__ == "__main__" or "<locals>" in cls.__qualname__:
            raise InvalidParameterError(
                f"{cls.__qualname__} is defined in a script or function, so it cannot be "
                "imported where the model loads: move it to a module, or save a TorchScript "
                "module (torch.jit.script/trace)"
            )
        torch.save(model.state_dict(), path / WEIGHTS_FILE)
        init_kwargs = dict(options.get("init_kwargs") or {})
        extra = distributions_for_modules([cls.__module__.split(".", 1)[0]])
        return Saved(
            {
                "format": "state_dict",
                "file": WEIGHTS_FILE,
                "module": f"{cls.__module__}:{cls.__qualname__}",
                "init_kwargs": init_kwargs,
            },
            ["torch", "numpy", *extra],
        )

    def load(self, path: Path, options: dict[str, Any]) -> TorchPredictor:
        import torch

        file = path / options.get("file", WEIGHTS_FILE)
        if options.get("format") == "torchscript":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                script: Any = torch.jit.load  # untyped in torch
                return TorchPredictor(script(str(file), map_location="cpu"))
        module_name, _, qualname = str(options["module"]).partition(":")
        try:
            cls: Any = importlib.import_module(module_name)
            for part in qualname.split("."):
                cls = getattr(cls, part)
        except (ImportError, AttributeError) as exc:
            raise InvalidParameterError(
                f"cannot import the model class {options['module']} ({exc}): install the "
                "package that defines it in this environment"
            ) from None
        model = cls(**options.get("init_kwargs", {}))
        model.load_state_dict(torch.load(file, map_location="cpu", weights_only=True))
        return TorchPredictor(model)


FLAVOR = PyTorchFlavor()
