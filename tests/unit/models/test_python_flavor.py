"""Plain-Python models with artifacts: the artifact's file is part of the verified package."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import loopml
from loopml.errors import InvalidParameterError
from loopml.models import PythonModelContext, load_model, save_model

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")


class Scaler(loopml.PythonModel):
    """Multiplies the 'x' column by a factor read from an artifact file at load time."""

    def load_context(self, context: PythonModelContext) -> None:
        self.factor = float(Path(context.artifacts["factor"]).read_text())

    def predict(self, context: PythonModelContext, inputs: Any) -> Any:
        return inputs["x"].to_numpy() * self.factor

    def predict_proba(self, context: PythonModelContext, inputs: Any) -> Any:
        p = 1 / (1 + np.exp(-inputs["x"].to_numpy()))
        return np.column_stack([1 - p, p])


def test_python_model_with_artifacts(tmp_path: Path) -> None:
    factor = tmp_path / "factor.txt"
    factor.write_text("2.5")
    frame = pd.DataFrame({"x": [1.0, 2.0, 4.0], "label": ["a", "b", "c"]})
    manifest = save_model(
        Scaler(), tmp_path / "pkg", input_example=frame, artifacts={"factor": factor}
    )
    assert manifest.flavor == "python"
    assert "artifacts/factor/factor.txt" in manifest.files
    assert set(manifest.methods) == {"predict", "predict_proba"}
    factor.write_text("100")  # the package holds its own copy
    loaded = load_model(tmp_path / "pkg")
    assert loaded.predict(frame).tolist() == [2.5, 5.0, 10.0]
    assert loaded.predict([{"x": 2, "label": "z"}]).tolist() == [5.0]
    assert loaded.predict(frame, method="predict_proba").shape == (3, 2)


def test_artifacts_need_a_python_model(tmp_path: Path) -> None:
    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0])
    with pytest.raises(InvalidParameterError, match="PythonModel"):
        save_model(model, tmp_path / "m", artifacts={"a": tmp_path})


def test_unknown_model_type_asks_for_a_flavor(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match="pass flavor="):
        save_model(object(), tmp_path / "m")
    with pytest.raises(InvalidParameterError, match="unknown model flavor"):
        save_model(Scaler(), tmp_path / "m2", flavor="keras")
