"""scikit-learn estimators and pipelines (incl. ``ColumnTransformer``), pickled with cloudpickle.

cloudpickle writes ordinary pickles that also hold functions defined in a notebook or script
(a ``FunctionTransformer(lambda ...)``), and loading needs only ``pickle``. The pickle is safe
to load only because the package's hashes are verified first: load packages you trust.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from loopml.models.enforce import InputKind
from loopml.models.flavors.base import Saved, methods_of
from loopml.models.requirements import distributions_for_modules, modules_in_pickle

MODEL_FILE = "model.pkl"


class SklearnPredictor:
    def __init__(self, model: Any) -> None:
        self.model = model
        self.methods = methods_of(
            model,
            ("predict", "predict_proba", "predict_log_proba", "decision_function", "transform"),
        )

    def predict(self, data: Any, method: str) -> Any:
        return getattr(self.model, method)(data)


class SklearnFlavor:
    name = "sklearn"

    def save(self, model: Any, path: Path, options: dict[str, Any]) -> Saved:
        import cloudpickle

        data = cloudpickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
        (path / MODEL_FILE).write_bytes(data)
        requirements = distributions_for_modules(modules_in_pickle(data) | {"sklearn"})
        # Fitted on a DataFrame (feature names recorded): predict on one, as it was trained.
        wants: InputKind = "frame" if hasattr(model, "feature_names_in_") else "array"
        return Saved({"file": MODEL_FILE}, requirements, wants)

    def load(self, path: Path, options: dict[str, Any]) -> SklearnPredictor:
        with (path / options.get("file", MODEL_FILE)).open("rb") as fh:
            return SklearnPredictor(pickle.load(fh))  # noqa: S301 -- hashes verified before


FLAVOR = SklearnFlavor()
