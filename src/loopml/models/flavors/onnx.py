"""ONNX models, run with onnxruntime on the CPU.

One model input takes the whole 2-D array; several inputs (as skl2onnx makes for a
``ColumnTransformer``) take one column each, by name. ``predict`` is the first output and
``predict_proba`` the probabilities output, when the graph has one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loopml.models.flavors.base import Saved

MODEL_FILE = "model.onnx"
_NUMPY_TYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(bool)": "bool",
    "tensor(string)": "object",
}


class OnnxPredictor:
    def __init__(self, session: Any) -> None:
        self.model = session
        self.inputs = [(i.name, _NUMPY_TYPES.get(i.type, "float32")) for i in session.get_inputs()]
        self.outputs = [o.name for o in session.get_outputs()]
        self.proba = next((o for o in self.outputs if "prob" in o.lower()), None)
        self.methods = frozenset({"predict", "predict_proba"} if self.proba else {"predict"})

    def predict(self, data: Any, method: str) -> Any:
        import numpy as np

        if len(self.inputs) == 1:
            name, dtype = self.inputs[0]
            array = data.to_numpy() if hasattr(data, "to_numpy") else np.asarray(data)
            feeds = {name: array.astype(dtype, copy=False)}
        else:
            feeds = {
                name: np.asarray(data[name]).astype(dtype, copy=False).reshape(-1, 1)
                for name, dtype in self.inputs
            }
        wanted = self.proba if method == "predict_proba" else self.outputs[0]
        (result,) = self.model.run([wanted], feeds)
        return result


class OnnxFlavor:
    name = "onnx"

    def save(self, model: Any, path: Path, options: dict[str, Any]) -> Saved:
        (path / MODEL_FILE).write_bytes(model.SerializeToString())
        inputs = len(model.graph.input)
        return Saved(
            {"file": MODEL_FILE},
            ["onnx", "onnxruntime", "numpy"],
            "frame" if inputs > 1 else "array",
        )

    def load(self, path: Path, options: dict[str, Any]) -> OnnxPredictor:
        import onnxruntime

        session = onnxruntime.InferenceSession(
            str(path / options.get("file", MODEL_FILE)), providers=["CPUExecutionProvider"]
        )
        return OnnxPredictor(session)


FLAVOR = OnnxFlavor()
