"""XGBoost boosters and their scikit-learn wrappers, in XGBoost's own UBJSON format.

The native format loads in any later XGBoost release (a pickle does not), and the wrapper
class is recorded so ``predict_proba`` and label decoding come back as they were.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from loopml.models.enforce import InputKind
from loopml.models.flavors.base import Saved, methods_of

MODEL_FILE = "model.ubj"


class XGBoostPredictor:
    def __init__(self, model: Any, is_booster: bool) -> None:
        self.model = model
        self.is_booster = is_booster
        self.methods = frozenset({"predict"}) if is_booster else methods_of(model)

    def predict(self, data: Any, method: str) -> Any:
        if self.is_booster:
            import xgboost

            return self.model.predict(xgboost.DMatrix(data))
        return getattr(self.model, method)(data)


class XGBoostFlavor:
    name = "xgboost"

    def save(self, model: Any, path: Path, options: dict[str, Any]) -> Saved:
        import xgboost

        model.save_model(str(path / MODEL_FILE))
        cls = type(model)
        booster = model if isinstance(model, xgboost.Booster) else model.get_booster()
        wants: InputKind = "frame" if booster.feature_names else "array"
        return Saved(
            {"file": MODEL_FILE, "class": f"{cls.__module__}:{cls.__qualname__}"},
            ["xgboost", "numpy", "scikit-learn"] if cls is not xgboost.Booster else ["xgboost"],
            wants,
        )

    def load(self, path: Path, options: dict[str, Any]) -> XGBoostPredictor:
        import xgboost

        module, _, qualname = str(options.get("class", "xgboost.core:Booster")).partition(":")
        if not module.startswith("xgboost"):
            raise ValueError(f"not an xgboost class: {module}")
        cls = getattr(importlib.import_module(module), qualname)
        file = str(path / options.get("file", MODEL_FILE))
        if cls is xgboost.Booster:
            return XGBoostPredictor(xgboost.Booster(model_file=file), is_booster=True)
        model = cls()
        model.load_model(file)
        return XGBoostPredictor(model, is_booster=False)


FLAVOR = XGBoostFlavor()
