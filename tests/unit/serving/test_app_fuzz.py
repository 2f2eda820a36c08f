"""Fuzzed bodies against both protocols never get a 5xx (in-process, through the ASGI app)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loopml.serving import create_app, load_served, serve_in_thread

pd = pytest.importorskip("pandas")
np = pytest.importorskip("numpy")
pytest.importorskip("sklearn")

_scalars = (
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=5)
)
_json = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "a",
                    "b",
                    "c",
                    "name",
                    "shape",
                    "datatype",
                    "data",
                    "inputs",
                    "instances",
                    "columns",
                    "dataframe_split",
                    "dataframe_records",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=20,
)
_v2_tensor = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["a", "b", "c", "x"]),
        "shape": st.lists(st.integers(-1, 4), max_size=3),
        "datatype": st.sampled_from(
            ["FP64", "FP32", "INT64", "BOOL", "BYTES", "FP16", "UINT8", "X"]
        ),
        "data": st.lists(_scalars, max_size=6),
    }
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    from sklearn.linear_model import LogisticRegression

    from loopml.models import save_model

    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0], "c": [1, 2, 3, 4]})
    folder: Path = tmp_path_factory.mktemp("fuzz") / "model"
    save_model(LogisticRegression().fit(frame, [0, 1, 0, 1]), folder, input_example=frame)
    app = create_app([load_served(str(folder))])
    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=30) as c:
        yield c


def _check(response: Any) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert set(response.json()["error"]) >= {"code", "message"}


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=_json)
def test_invocations_fuzz(client: httpx.Client, body: Any) -> None:
    _check(
        client.post(
            "/invocations",
            content=orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS) if _ok(body) else b"{",
        )
    )
    for key in ("dataframe_split", "dataframe_records", "instances", "inputs"):
        if _ok(body):
            _check(client.post("/invocations", content=orjson.dumps({key: body})))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(inputs=st.lists(_v2_tensor, max_size=4))
def test_v2_fuzz(client: httpx.Client, inputs: list[Any]) -> None:
    body = {"inputs": inputs}
    if _ok(body):
        _check(client.post("/v2/models/model/infer", content=orjson.dumps(body)))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=64))
def test_raw_bytes(client: httpx.Client, raw: bytes) -> None:
    _check(client.post("/invocations", content=raw))
    _check(client.post("/invocations", content=raw, headers={"content-type": "text/csv"}))
    _check(client.post("/v2/models/model/infer", content=raw))


def _ok(body: Any) -> bool:
    try:
        orjson.dumps(body)
    except (TypeError, orjson.JSONEncodeError):
        return False
    return True
