"""scikit-learn round trips: save -> load -> identical predictions, probabilities included."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from loopml.models import load_model, save_model

np = pytest.importorskip("numpy")
pytest.importorskip("sklearn")


def test_pipeline_with_column_transformer_round_trips(
    churn: tuple[Any, Any], tmp_path: Path
) -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame, label = churn
    model = Pipeline(
        [
            (
                "prep",
                ColumnTransformer(
                    [
                        ("num", StandardScaler(), ["tenure", "spend", "tickets"]),
                        ("cat", OneHotEncoder(), ["plan"]),
                    ]
                ),
            ),
            ("clf", LogisticRegression()),
        ]
    ).fit(frame, label)
    manifest = save_model(model, tmp_path / "m", input_example=frame[:5])
    assert manifest.flavor == "sklearn" and manifest.wants == "frame"
    assert manifest.signature is not None
    cols = {c.name: c.dtype for c in manifest.signature.inputs.columns}
    assert cols == {"tenure": "float64", "spend": "float64", "tickets": "int64", "plan": "str"}
    assert any(r.startswith("scikit-learn==") for r in manifest.requirements)
    assert any(r.startswith("loopml==") for r in manifest.requirements)

    loaded = load_model(tmp_path / "m")
    assert (loaded.predict(frame) == model.predict(frame)).all()
    assert np.array_equal(loaded.predict(frame, method="predict_proba"), model.predict_proba(frame))
    # list of dicts and dict of columns give the same answers as the frame
    records = frame[:7].to_dict("records")
    assert (loaded.predict(records) == model.predict(frame[:7])).all()
    assert (loaded.predict(frame[:7].to_dict("list")) == model.predict(frame[:7])).all()
    # columns in another order are put back in the signature's order
    assert (
        loaded.predict(frame[["plan", "tickets", "spend", "tenure"]]) == model.predict(frame)
    ).all()


def test_model_fit_on_arrays_takes_arrays_and_lists(
    arrays: tuple[Any, Any], tmp_path: Path
) -> None:
    from sklearn.ensemble import RandomForestClassifier

    x, y = arrays
    model = RandomForestClassifier(n_estimators=15, random_state=0).fit(x, y)
    manifest = save_model(model, tmp_path / "rf", input_example=x[:3], method="predict_proba")
    assert manifest.wants == "array" and manifest.method == "predict_proba"
    assert manifest.signature is not None
    assert manifest.signature.inputs.kind == "tensor"
    assert manifest.signature.inputs.shape == (-1, 4)
    assert manifest.signature.outputs is not None and manifest.signature.outputs.shape == (-1, 2)
    loaded = load_model(str(tmp_path / "rf"))
    assert np.array_equal(loaded.predict(x), model.predict_proba(x))
    assert np.array_equal(loaded.predict(x, method="predict"), model.predict(x))
    assert np.array_equal(loaded.predict(x[:2].tolist(), method="predict"), model.predict(x[:2]))
    assert np.array_equal(loaded.predict(x[0], method="predict"), model.predict(x[:1]))
    assert loaded.input_example.shape == (3, 4)
    assert loaded.metadata["flavor"] == "sklearn"


def test_regressor_casts_ints_to_float_losslessly(tmp_path: Path) -> None:
    from sklearn.linear_model import LinearRegression

    x = np.arange(20, dtype=np.float64).reshape(10, 2)
    model = LinearRegression().fit(x, x.sum(axis=1))
    save_model(model, tmp_path / "lr", input_example=x[:2])
    loaded = load_model(tmp_path / "lr")
    ints = x.astype(np.int32)
    assert np.allclose(loaded.predict(ints), model.predict(x))


def test_an_example_the_model_cannot_predict_on_leaves_nothing(
    arrays: tuple[Any, Any], tmp_path: Path
) -> None:
    from sklearn.linear_model import LogisticRegression

    from loopml.errors import InvalidParameterError

    x, y = arrays
    model = LogisticRegression().fit(x, y)
    with pytest.raises(InvalidParameterError, match="could not predict on its input example"):
        save_model(model, tmp_path / "m", input_example=x[:2, :3])  # 3 features, not 4
    assert not (tmp_path / "m").exists()
    with pytest.raises(InvalidParameterError, match="JSON"):
        save_model(model, tmp_path / "m", metadata={"bad": object()})
    assert not (tmp_path / "m").exists()
