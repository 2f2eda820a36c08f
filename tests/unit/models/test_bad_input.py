"""Predicting with bad input: each mistake is a typed error that says what to fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from loopml.errors import InvalidParameterError
from loopml.models import LoadedModel, load_model, save_model
from loopml.models.enforce import InputPlan
from loopml.models.schema import ColumnSpec, Schema, Signature

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")
pytest.importorskip("sklearn")


@pytest.fixture(scope="module")
def tabular(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    from sklearn.linear_model import LogisticRegression

    frame = pd.DataFrame(
        {"tenure": [1.0, 5.0, 9.0, 2.0], "tickets": [3, 0, 1, 2], "plan": ["a", "b", "a", "b"]}
    )
    model = LogisticRegression().fit(frame[["tenure", "tickets"]], [1, 0, 0, 1])
    path = tmp_path_factory.mktemp("pkg") / "lr"
    save_model(model, path, input_example=frame[["tenure", "tickets"]][:2])
    return path, frame


@pytest.fixture
def model(tabular: tuple[Path, Any]) -> LoadedModel:
    return load_model(tabular[0])


def test_missing_column_is_named(model: LoadedModel, tabular: tuple[Path, Any]) -> None:
    frame = tabular[1]
    with pytest.raises(InvalidParameterError, match="missing column 'tickets'") as err:
        model.predict(frame[["tenure"]])
    assert err.value.details["column"] == "tickets"
    with pytest.raises(InvalidParameterError, match=r"missing column 'tickets' \(in row 1\)"):
        model.predict([{"tenure": 1.0, "tickets": 1}, {"tenure": 2.0}])
    with pytest.raises(InvalidParameterError, match="missing column 'tenure'"):
        model.predict({"tickets": [1, 2]})


def test_wrong_dtype_is_explained(model: LoadedModel) -> None:
    bad = pd.DataFrame({"tenure": ["long", "short"], "tickets": [1, 2]})
    with pytest.raises(
        InvalidParameterError, match=r"column 'tenure' has dtype str .* expects float64"
    ):
        model.predict(bad)
    lossy = pd.DataFrame({"tenure": [1.0, 2.0], "tickets": [1.5, 2.5]})
    with pytest.raises(InvalidParameterError, match=r"'tickets' .*lose information"):
        model.predict(lossy)


def test_lossless_coercions_are_allowed(model: LoadedModel, tabular: tuple[Path, Any]) -> None:
    frame = tabular[1]
    expected = model.predict(frame)
    narrow = frame.astype({"tenure": "int32", "tickets": "int32"})
    narrow["tenure"] = frame["tenure"].astype("int32")
    assert model.predict(narrow).shape == expected.shape  # int32 -> float64 and -> int64


def test_empty_input_is_refused(model: LoadedModel, tabular: tuple[Path, Any]) -> None:
    frame = tabular[1]
    for empty in (frame[:0], [], {"tenure": [], "tickets": []}, np.empty((0, 2))):
        with pytest.raises(InvalidParameterError, match="no rows"):
            model.predict(empty)


def test_extra_columns_are_ignored_or_rejected(tabular: tuple[Path, Any]) -> None:
    path, frame = tabular
    assert load_model(path).predict(frame).shape == (4,)  # 'plan' is ignored
    strict = load_model(path, extra_columns="reject")
    with pytest.raises(InvalidParameterError, match="does not take: 'plan'"):
        strict.predict(frame)
    assert strict.predict(frame[["tenure", "tickets"]]).shape == (4,)
    with pytest.raises(InvalidParameterError, match="'ignore' or 'reject'"):
        load_model(path, extra_columns="drop")  # type: ignore[arg-type]


def test_wrong_number_of_values_per_row(model: LoadedModel) -> None:
    with pytest.raises(InvalidParameterError, match=r"rows of 2 values \('tenure', 'tickets'\)"):
        model.predict(np.ones((3, 5)))


def test_unknown_method(model: LoadedModel) -> None:
    with pytest.raises(InvalidParameterError, match="no method 'transform'"):
        model.predict([[1.0, 2]], method="transform")


def test_tensor_shape_and_dtype() -> None:
    signature = Signature(Schema("tensor", dtype="float32", shape=(-1, 3)))
    plan = InputPlan(signature, "array")
    assert plan.prepare([[1, 2, 3]]).dtype == np.float32  # JSON-like lists may narrow floats
    with pytest.raises(InvalidParameterError, match=r"shape \(n, 3\)"):
        plan.prepare(np.ones((2, 4), dtype=np.float32))
    with pytest.raises(InvalidParameterError, match="lose information"):
        plan.prepare(np.ones((2, 3), dtype=np.float64))  # a typed float64 array is not narrowed
    with pytest.raises(InvalidParameterError, match="not numbers"):
        plan.prepare([["a", "b", "c"]])


def test_plan_keeps_typed_arrays_as_they_are() -> None:
    signature = Signature(
        Schema("columns", columns=(ColumnSpec("a", "float64"), ColumnSpec("b", "float64")))
    )
    plan = InputPlan(signature, "array")
    x = np.ones((4, 2))
    assert plan.prepare(x) is x  # the fast path: no copy, no frame
    assert plan.prepare([{"a": 1, "b": 2}]).tolist() == [[1.0, 2.0]]


def test_one_row_as_a_dict_of_scalars_or_a_series(
    model: LoadedModel, tabular: tuple[Path, Any]
) -> None:
    frame = tabular[1]
    expected = model.predict(frame[:1])
    assert (model.predict({"tenure": 1.0, "tickets": 3}) == expected).all()
    assert (model.predict(frame.iloc[0][["tenure", "tickets"]]) == expected).all()
