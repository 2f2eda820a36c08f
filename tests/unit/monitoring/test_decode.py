"""Every request body serving accepts decodes back to the same feature columns."""

from __future__ import annotations

import numpy as np
import orjson
import pandas as pd
import pytest

from loopml.monitoring.decode import decode_inputs
from loopml.monitoring.outputs import decode_outputs

FRAME = pd.DataFrame({"age": [42.0, 17.5, 63.0], "tenure": [1.0, 2.0, 3.0]})
NAMES = ["age", "tenure"]


def _bodies() -> dict[str, tuple[bytes, str, str]]:
    rows = FRAME.to_numpy().tolist()
    return {
        "split": (
            orjson.dumps({"dataframe_split": {"columns": NAMES, "data": rows}}),
            "mlflow",
            "application/json",
        ),
        "split_spaced": (
            b'{"dataframe_split": {"columns": ["age", "tenure"], "data": [[42.0, 1.0], [17.5, 2.0],\n [63.0, 3.0]]}}',
            "mlflow",
            "application/json",
        ),
        "split_index_first": (
            orjson.dumps({"dataframe_split": {"index": [0, 1, 2], "data": rows, "columns": NAMES}}),
            "mlflow",
            "application/json",
        ),
        "records": (
            orjson.dumps({"dataframe_records": FRAME.to_dict("records")}),
            "mlflow",
            "application/json",
        ),
        "instances": (orjson.dumps({"instances": rows}), "mlflow", "application/json"),
        "inputs_rows": (orjson.dumps({"inputs": rows}), "mlflow", "application/json"),
        "inputs_columns": (
            orjson.dumps({"inputs": {c: FRAME[c].tolist() for c in NAMES}}),
            "mlflow",
            "application/json",
        ),
        "instances_records": (
            orjson.dumps({"instances": FRAME.to_dict("records")}),
            "mlflow",
            "application/json",
        ),
        "csv": (FRAME.to_csv(index=False).encode(), "mlflow", "text/csv"),
        "v2_columns": (
            orjson.dumps(
                {
                    "inputs": [
                        {"name": c, "shape": [3], "datatype": "FP64", "data": FRAME[c].tolist()}
                        for c in NAMES
                    ]
                }
            ),
            "v2",
            "application/json",
        ),
        "v2_matrix": (
            orjson.dumps(
                {
                    "inputs": [
                        {
                            "name": "input",
                            "shape": [3, 2],
                            "datatype": "FP64",
                            "data": [v for r in rows for v in r],
                        }
                    ]
                }
            ),
            "v2",
            "application/json",
        ),
        "v2_column_vectors": (
            orjson.dumps(
                {
                    "inputs": [
                        {"name": c, "shape": [3, 1], "datatype": "FP64", "data": FRAME[c].tolist()}
                        for c in NAMES
                    ]
                }
            ),
            "v2",
            "application/json",
        ),
    }


@pytest.mark.parametrize("kind", sorted(_bodies()))
def test_every_format_decodes_to_the_same_columns(kind: str) -> None:
    body, protocol, ctype = _bodies()[kind]
    decoded = decode_inputs([body], [protocol], [ctype], NAMES)
    assert not decoded.failed, decoded.failed
    frame = decoded.features.to_pandas()
    assert list(frame.columns) == NAMES
    np.testing.assert_allclose(frame.to_numpy(dtype=float), FRAME.to_numpy())
    assert decoded.owner.tolist() == [0, 0, 0] and decoded.position.tolist() == [0, 1, 2]
    assert decoded.missing == {} and decoded.unexpected == {}


def test_many_bodies_keep_their_rows_owners_and_positions() -> None:
    bodies = _bodies()
    order = ["split", "records", "csv", "v2_columns", "instances", "split_spaced"]
    decoded = decode_inputs(
        [bodies[k][0] for k in order],
        [bodies[k][1] for k in order],
        [bodies[k][2] for k in order],
        NAMES,
    )
    assert decoded.rows == 3 * len(order)
    by_owner = pd.DataFrame(
        {
            "owner": decoded.owner,
            "pos": decoded.position,
            "age": decoded.features.column("age").to_numpy(),
        }
    ).sort_values(["owner", "pos"])
    assert by_owner["age"].tolist() == FRAME["age"].tolist() * len(order)
    assert sorted(set(decoded.owner.tolist())) == list(range(len(order)))


def test_text_categories_and_mixed_columns_use_the_general_path() -> None:
    body = orjson.dumps(
        {"dataframe_split": {"columns": ["age", "plan"], "data": [[42, "pro"], [30, "basic"]]}}
    )
    decoded = decode_inputs([body], ["mlflow"], ["application/json"], ["age", "plan"])
    frame = decoded.features.to_pandas()
    assert frame["plan"].tolist() == ["pro", "basic"] and frame["age"].tolist() == [42, 30]


def test_bad_bodies_are_counted_not_raised_and_skew_is_reported() -> None:
    good = orjson.dumps({"dataframe_records": [{"age": 1.0, "tenure": 2.0, "extra": 5}]})
    missing = orjson.dumps({"dataframe_records": [{"age": 3.0}]})
    decoded = decode_inputs(
        [
            b"{not json",
            None,
            b'{"dataframe_split": {"columns": ["a"], "data": [[1, 2]]}}',
            good,
            missing,
        ],
        None,
        None,
        NAMES,
    )
    assert sum(decoded.failed.values()) == 3
    assert decoded.rows == 2
    assert decoded.missing == {"tenure": 1}
    assert decoded.unexpected == {"extra": 1}


def test_ragged_numeric_rows_fall_back_and_fail_cleanly() -> None:
    ragged = b'{"dataframe_split": {"columns": ["age", "tenure"], "data": [[1.0, 2.0], [3.0]]}}'
    fine = orjson.dumps({"dataframe_split": {"columns": NAMES, "data": [[5.0, 6.0]]}})
    decoded = decode_inputs([ragged, fine], None, None, NAMES)
    assert sum(decoded.failed.values()) == 1 and decoded.rows == 1
    assert decoded.owner.tolist() == [1]


def test_outputs_of_both_protocols() -> None:
    owner = np.array([0, 0, 1, 1, 2, 2])
    position = np.array([0, 1, 0, 1, 0, 1])
    bodies = [
        orjson.dumps({"predictions": [1, 0]}),
        orjson.dumps(
            {
                "model_name": "m",
                "outputs": [{"name": "predict", "shape": [2], "datatype": "INT64", "data": [0, 1]}],
            }
        ),
        orjson.dumps({"predictions": [[0.2, 0.8], [0.9, 0.1]]}),
    ]
    preds = decode_outputs(bodies, owner, position)
    assert preds.numeric
    assert preds.value.tolist() == [1, 0, 0, 1, 1, 0]
    assert preds.score is not None and preds.score[4] == pytest.approx(0.8)
    texts = decode_outputs(
        [orjson.dumps({"predictions": ["yes", "no"]}), None],
        np.array([0, 0, 1]),
        np.array([0, 1, 0]),
    )
    assert texts.label.tolist() == ["yes", "no", None]


def test_numeric_and_compact_text_rows_skip_python_objects(monkeypatch: pytest.MonkeyPatch) -> None:
    from loopml.monitoring import decode

    def no_slow_path(*args: object) -> object:
        raise AssertionError("the fast path should have read this body")

    monkeypatch.setattr(decode, "json_columns", no_slow_path)
    cols = ["age", "plan", "city"]
    rows = [[42.5, "pro", "Paris,FR"], [None, "basic", "x]"], [7, "a,b", "null"]]
    body = orjson.dumps({"dataframe_split": {"columns": cols, "data": rows}})
    dtypes = {"age": "float64", "plan": "str", "city": "str"}
    decoded = decode_inputs([body, body], None, None, cols, dtypes)
    frame = decoded.features.to_pandas()
    assert frame["plan"].tolist() == ["pro", "basic", "a,b"] * 2
    assert frame["city"].tolist() == ["Paris,FR", "x]", "null"] * 2
    assert frame["age"].tolist()[:1] == [42.5] and frame["age"].isna().tolist()[1]
    assert decoded.owner.tolist() == [0, 0, 0, 1, 1, 1]


@pytest.mark.parametrize(
    "value",
    ['a "quoted" word', "tab\there", "spaced  out", "new\nline", "br],[acket", "x]]", "c\\d"],
)
def test_tricky_text_still_decodes_exactly(value: str) -> None:
    cols = ["age", "plan"]
    for body in (
        orjson.dumps({"dataframe_split": {"columns": cols, "data": [[1.0, value], [2.0, "x"]]}}),
        (
            '{"dataframe_split": {"columns": ["age", "plan"], "data": [[1.0, '
            + orjson.dumps(value).decode()
            + '], [2.0, "x"]]}}'
        ).encode(),
    ):
        decoded = decode_inputs([body], None, None, cols, {"age": "float64", "plan": "str"})
        assert not decoded.failed
        assert decoded.features.column("plan").to_pylist() == [value, "x"]
