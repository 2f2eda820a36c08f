"""LightGBM models as LightGBM's own text model file (readable, stable across releases).

A scikit-learn wrapper (``LGBMClassifier``) is rebuilt from the booster plus its class list,
so ``predict`` returns the original labels and ``predict_proba`` the same probabilities.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loopml.models.flavors.base import Saved

MODEL_FILE = "model.txt"


class LightGBMPredictor:
    def __init__(self, booster: Any, classes: list[Any] | None) -> None:
        self.model = booster
        self.classes = classes
        self.methods = frozenset({"predict", "predict_proba"} if classes else {"predict"})

    def predict(self, data: Any, method: str) -> Any:
        import numpy as np

        raw = self.model.predict(data)
        if self.classes is None:
            return raw
        proba = np.column_stack([1.0 - raw, raw]) if raw.ndim == 1 else raw
        if method == "predict_proba":
            return proba
        return np.asarray(self.classes)[np.argmax(proba, axis=1)]


class LightGBMFlavor:
    name = "lightgbm"

    def save(self, model: Any, path: Path, options: dict[str, Any]) -> Saved:
        import lightgbm

        booster = model if isinstance(model, lightgbm.Booster) else model.booster_
        booster.save_model(str(path / MODEL_FILE))
        saved: dict[str, Any] = {"file": MODEL_FILE}
        classes = getattr(model, "classes_", None)
        if classes is not None:
            saved["classes"] = classes.tolist()
        fitted_on_frame = bool(getattr(model, "feature_names_in_", None) is not None)
        return Saved(saved, ["lightgbm", "numpy"], "frame" if fitted_on_frame else "array")

    def load(self, path: Path, options: dict[str, Any]) -> LightGBMPredictor:
        import lightgbm

        booster = lightgbm.Booster(model_file=str(path / options.get("file", MODEL_FILE)))
        return LightGBMPredictor(booster, options.get("classes"))


FLAVOR = LightGBMFlavor()
