"""Signature inference and its JSON form; flavor detection and lazy imports."""

from __future__ import annotations

import subprocess
import sys

import pytest

from loopml.errors import InvalidParameterError
from loopml.models import Signature, infer_signature
from loopml.models.flavors import detect_flavor

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")


def test_signature_round_trips_through_json() -> None:
    frame = pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5], "c": ["x", "y"], "d": [True, False]})
    sig = infer_signature(frame, np.array([[0.1, 0.9], [0.8, 0.2]]))
    assert [(c.name, c.dtype) for c in sig.inputs.columns] == [
        ("a", "int64"),
        ("b", "float64"),
        ("c", "str"),
        ("d", "bool"),
    ]
    assert sig.outputs is not None and sig.outputs.shape == (-1, 2)
    assert Signature.from_dict(sig.to_dict()) == sig


@pytest.mark.parametrize(
    ("example", "kind"),
    [
        ({"a": [1.0, 2.0], "b": [1, 2]}, "columns"),
        ([{"a": 1.0, "b": "x"}], "columns"),
        (np.zeros((2, 3, 4), dtype=np.float32), "tensor"),
        ([[1, 2], [3, 4]], "tensor"),
    ],
)
def test_inference_of_each_input_form(example: object, kind: str) -> None:
    assert infer_signature(example).inputs.kind == kind


def test_a_scalar_is_not_an_example() -> None:
    with pytest.raises(InvalidParameterError, match="not a scalar"):
        infer_signature(3.0)


def test_flavor_detection_reads_class_modules() -> None:
    from sklearn.linear_model import LinearRegression

    assert detect_flavor(LinearRegression()) == "sklearn"
    with pytest.raises(InvalidParameterError, match="cannot tell the flavor"):
        detect_flavor([1, 2])


def test_the_model_api_imports_no_ml_library() -> None:
    code = (
        "import sys, loopml; loopml.load_model; loopml.log_model; loopml.PythonModel; "
        "import loopml.models.flavors, loopml.models.resolve; "
        "print(','.join(m for m in ('torch', 'xgboost', 'lightgbm', 'onnxruntime', 'sklearn') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_requirements_come_from_the_pickles_globals() -> None:
    import pickle

    from loopml.models.requirements import distributions_for_modules, modules_in_pickle, pin

    data = pickle.dumps(
        {"a": np.arange(3), "b": np.ones(2), "c": pd.Series([1.0])}, protocol=5
    )  # numpy's globals are fetched back from the memo the second time
    modules = modules_in_pickle(data)
    assert {"numpy", "pandas"} <= modules and "ndarray" not in modules
    assert distributions_for_modules(modules | {"json", "sklearn"}) == [
        "numpy",
        "pandas",
        "scikit-learn",
    ]
    pinned = pin(["numpy", "not-installed-dist"])
    assert pinned[0].startswith("loopml==") and pinned[1] == f"numpy=={np.__version__}"
