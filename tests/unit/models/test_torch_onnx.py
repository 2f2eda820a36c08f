"""PyTorch (state dict + module path, TorchScript) and ONNX (incl. to_onnx from sklearn)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from loopml.errors import InvalidParameterError
from loopml.models import load_model, save_model, to_onnx

np = pytest.importorskip("numpy")


def test_pytorch_state_dict_round_trips(arrays: tuple[Any, Any], tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from tests.unit.models._torch_net import TinyNet

    torch.manual_seed(0)
    net = TinyNet(n_in=4, hidden=6)
    x = arrays[0].astype(np.float32)
    manifest = save_model(
        net, tmp_path / "t", input_example=x[:3], flavor_options={"init_kwargs": {"hidden": 6}}
    )
    assert manifest.flavor == "pytorch"
    assert manifest.flavor_options["module"] == "tests.unit.models._torch_net:TinyNet"
    assert any(r.startswith("torch==") for r in manifest.requirements)
    loaded = load_model(tmp_path / "t")
    with torch.inference_mode():
        expected = net(torch.from_numpy(x)).numpy()
    assert np.array_equal(loaded.predict(x), expected)
    assert np.array_equal(loaded.predict(x[:2].tolist()), expected[:2])  # lists narrow to float32


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit.trace is deprecated
def test_pytorch_torchscript_round_trips(arrays: tuple[Any, Any], tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from tests.unit.models._torch_net import TinyNet

    x = arrays[0].astype(np.float32)
    scripted = torch.jit.trace(TinyNet().eval(), torch.from_numpy(x[:2]))
    manifest = save_model(scripted, tmp_path / "ts", input_example=x[:2])
    assert manifest.flavor_options["format"] == "torchscript"
    with torch.inference_mode():
        expected = scripted(torch.from_numpy(x)).numpy()
    assert np.array_equal(load_model(tmp_path / "ts").predict(x), expected)


def test_pytorch_class_must_be_importable(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")

    class Local(torch.nn.Module):
        def forward(self, x: Any) -> Any:
            return x

    with pytest.raises(InvalidParameterError, match="cannot be imported"):
        save_model(Local(), tmp_path / "l")


def test_to_onnx_from_a_sklearn_pipeline(arrays: tuple[Any, Any], tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("skl2onnx")
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = arrays
    x = x.astype(np.float32)
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    onnx_model = to_onnx(pipe, x[:5])
    manifest = save_model(onnx_model, tmp_path / "o", input_example=x[:5])
    assert manifest.flavor == "onnx" and (tmp_path / "o" / "model.onnx").is_file()
    loaded = load_model(tmp_path / "o")
    assert np.array_equal(loaded.predict(x), pipe.predict(x))
    assert np.allclose(loaded.predict(x, method="predict_proba"), pipe.predict_proba(x), atol=1e-5)
    # float64 rows arrive as JSON lists: accepted and narrowed to the graph's float32
    assert np.array_equal(loaded.predict(x[:3].astype(float).tolist()), pipe.predict(x[:3]))


def test_to_onnx_with_text_columns_feeds_one_input_per_column(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("skl2onnx")
    pd = pytest.importorskip("pandas")
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"tenure": rng.normal(size=80).astype(np.float32), "plan": rng.choice(["a", "b"], 80)}
    )
    label = (frame["tenure"] > 0).astype(int)
    prep = ColumnTransformer(
        [("n", StandardScaler(), ["tenure"]), ("c", OneHotEncoder(), ["plan"])]
    )
    pipe = Pipeline([("prep", prep), ("clf", LogisticRegression())]).fit(frame, label)
    save_model(to_onnx(pipe, frame[:5]), tmp_path / "o", input_example=frame[:5])
    loaded = load_model(tmp_path / "o")
    assert loaded.manifest.wants == "frame"
    assert np.array_equal(loaded.predict(frame), pipe.predict(frame))
    assert np.allclose(
        loaded.predict(frame, method="predict_proba"), pipe.predict_proba(frame), atol=1e-5
    )
