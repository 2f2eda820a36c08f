"""``loopml serve`` for real: a registered sklearn model behind uvicorn on 127.0.0.1.

Predictions over both protocols equal the model's own; bad input is a 4xx in the envelope;
/metrics shows the counters; concurrent requests are merged into batches.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import loopml
from loopml.serving import ServingOptions, create_app, load_served, serve_in_thread

pd = pytest.importorskip("pandas")
np = pytest.importorskip("numpy")
pytest.importorskip("sklearn")

COLUMNS = ["age", "tenure", "spend"]


@pytest.fixture
def trained(project: Path) -> tuple[Any, Any]:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(300, 3)), columns=COLUMNS)
    label = (frame["age"] + frame["spend"] > 0).astype(int)
    model = LogisticRegression().fit(frame, label)
    with loopml.start_run():
        info = loopml.log_model(model, "model", input_example=frame[:5])
    mv = loopml.register_model(info.uri, "churn")
    loopml.set_alias("churn", "champion", mv.version)
    return model, frame


def _serve(options: ServingOptions | None = None) -> Iterator[str]:
    served = load_served("models:/churn@champion", options=options)
    with serve_in_thread(create_app([served])) as url:
        yield url


@pytest.fixture
def url(trained: tuple[Any, Any]) -> Iterator[str]:
    yield from _serve()


def test_mlflow_protocol_matches_the_model(url: str, trained: tuple[Any, Any]) -> None:
    model, frame = trained
    rows = frame[:7]
    want = model.predict(rows).tolist()
    bodies = [
        {"dataframe_split": {"columns": COLUMNS, "data": rows.to_numpy().tolist()}},
        {"dataframe_records": rows.to_dict(orient="records")},
        {"instances": rows.to_numpy().tolist()},
        {"inputs": {c: rows[c].tolist() for c in COLUMNS}},
    ]
    with httpx.Client(base_url=url) as client:
        for body in bodies:
            r = client.post("/invocations", json=body)
            assert r.status_code == 200, r.text
            assert r.json() == {"predictions": want}
            assert r.headers["x-loopml-model-version"] == "1"
            assert r.headers["x-request-id"]
        csv = rows.to_csv(index=False)
        r = client.post("/invocations", content=csv, headers={"content-type": "text/csv"})
        assert r.json() == {"predictions": want}


def test_v2_protocol_matches_the_model(url: str, trained: tuple[Any, Any]) -> None:
    model, frame = trained
    rows = frame[:4]
    inputs = [
        {"name": c, "shape": [4], "datatype": "FP64", "data": rows[c].tolist()} for c in COLUMNS
    ]
    with httpx.Client(base_url=url) as client:
        assert client.get("/v2/health/live").status_code == 200
        assert client.get("/v2/health/ready").json() == {"ready": True}
        assert client.get("/v2/models/churn/ready").status_code == 200
        meta = client.get("/v2/models/churn").json()
        assert meta["versions"] == ["1"]
        assert [i["name"] for i in meta["inputs"]] == COLUMNS
        r = client.post("/v2/models/churn/infer", json={"inputs": inputs})
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["model_name"] == "churn" and out["model_version"] == "1"
        assert out["outputs"][0]["data"] == model.predict(rows).tolist()
        assert out["outputs"][0]["shape"] == [4]
        one = [
            {
                "name": "x",
                "shape": [4, 3],
                "datatype": "FP64",
                "data": rows.to_numpy().ravel().tolist(),
            }
        ]
        r = client.post("/v2/models/churn/versions/1/infer", json={"inputs": one})
        assert r.json()["outputs"][0]["data"] == model.predict(rows).tolist()
        assert (
            client.post("/v2/models/churn/versions/9/infer", json={"inputs": one}).status_code
            == 404
        )
        assert client.post("/v2/models/nope/infer", json={"inputs": one}).status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 400, "exactly one of"),
        (b'{"instances": [[1, 2]]}', 400, "expected rows of 3"),
        (b'{"dataframe_split": {"columns": ["age", "tenure"], "data": [[1, 2]]}}', 400, "'spend'"),
        (b'{"dataframe_records": [{"age": 1, "tenure": 2, "spend": "x"}]}', 400, "'spend'"),
        (b'{"dataframe_split": {"columns": ["age"], "data": [[1, 2]]}}', 400, "one per column"),
        (b'{"inputs": {"age": [1], "tenure": [2], "spend": [[1, 2]]}}', 400, "spend"),
        (b'{"instances": []}', 400, "no rows"),
        (b'{"instances": [[1, 2, null]]}', 400, ""),
    ],
)
def test_bad_mlflow_input_is_a_4xx_in_the_envelope(
    url: str, body: bytes, status: int, needle: str
) -> None:
    r = httpx.post(f"{url}/invocations", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == "INVALID_PARAMETER" and needle in error["message"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"inputs": []},
        {"inputs": [{"name": "age"}]},
        {"inputs": [{"name": "age", "shape": [2], "datatype": "FP64", "data": [1.0]}]},
        {"inputs": [{"name": "age", "shape": [1], "datatype": "FLOAT", "data": [1.0]}]},
        {"inputs": [{"name": "age", "shape": [1], "datatype": "FP64", "data": ["a"]}]},
        {"inputs": [{"name": "age", "shape": [1], "datatype": "FP64", "data": [1.0]}]},
    ],
)
def test_bad_v2_input_is_a_400(url: str, body: dict[str, Any]) -> None:
    r = httpx.post(f"{url}/v2/models/churn/infer", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "INVALID_PARAMETER"


def test_limits_auth_and_unknown_routes(trained: tuple[Any, Any]) -> None:
    from loopml.serving import AppOptions

    for url in _serve_with(AppOptions(max_body_bytes=200, token="s3cret")):
        body = {"instances": [[1.0, 2.0, 3.0]]}
        assert httpx.post(f"{url}/invocations", json=body).status_code == 401
        auth = {"authorization": "Bearer s3cret"}
        assert httpx.post(f"{url}/invocations", json=body, headers=auth).status_code == 200
        big = {"instances": [[1.0, 2.0, 3.0]] * 50}
        r = httpx.post(f"{url}/invocations", json=big, headers=auth)
        assert r.status_code == 413 and r.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
        assert httpx.get(f"{url}/nope").json()["error"]["code"] == "RESOURCE_NOT_FOUND"
        assert httpx.get(f"{url}/invocations").status_code == 405


def _serve_with(options: Any) -> Iterator[str]:
    served = load_served("models:/churn@champion")
    with serve_in_thread(create_app([served], options)) as url:
        yield url


def test_concurrent_requests_are_batched_and_counted(url: str, trained: tuple[Any, Any]) -> None:
    model, frame = trained
    rows = frame.to_numpy()

    def one(i: int) -> tuple[int, list[int]]:
        body = {"instances": [rows[i].tolist()]}
        return i, httpx.post(f"{url}/invocations", json=body, timeout=30).json()["predictions"]

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        results = list(pool.map(one, range(200)))  # bounded: 200 requests
    want = model.predict(frame)
    assert all(pred == [want[i]] for i, pred in results)  # each caller got its own row
    text = httpx.get(f"{url}/metrics").text
    count = _metric(text, "loopml_serving_batch_requests_count")
    total = _metric(text, "loopml_serving_batch_requests_sum")
    assert total == 200 and count < total  # some predict calls served several requests
    assert (
        _metric(
            text,
            'loopml_serving_requests_total{model="churn",protocol="mlflow",status="200",version="1"}',
        )
        == 200
    )


def test_errors_are_counted(url: str) -> None:
    httpx.post(f"{url}/invocations", content=b"{")
    text = httpx.get(f"{url}/metrics").text
    assert 'code="INVALID_PARAMETER"' in text and "loopml_serving_request_seconds_bucket" in text


def _metric(text: str, prefix: str) -> float:
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{prefix} not in /metrics:\n{text}")


def test_readiness_waits_for_the_smoke_test(trained: tuple[Any, Any]) -> None:
    served = load_served("models:/churn/1")
    assert not served.ready
    with serve_in_thread(create_app([served])) as url:
        assert served.ready and httpx.get(f"{url}/ready").json() == {"ready": True}


def test_queue_full_is_a_503(trained: tuple[Any, Any]) -> None:
    served = load_served("models:/churn/1", options=ServingOptions(max_queue=1))
    gate = __import__("threading").Event()
    real = served.model.predict

    def slow(data: Any, method: str | None = None) -> Any:
        gate.wait(10)
        return real(data, method)

    served.smoke_test()
    served.model.predict = slow  # type: ignore[method-assign]
    with serve_in_thread(create_app([served])) as url:
        body = {"instances": [[1.0, 2.0, 3.0]]}
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            futures = [
                pool.submit(httpx.post, f"{url}/invocations", json=body, timeout=30)
                for _ in range(4)
            ]
            statuses = []
            import time

            deadline = time.monotonic() + 20  # a loaded machine may be slow to send them
            while not any(f.done() for f in futures) and time.monotonic() < deadline:
                time.sleep(0.05)  # the first answer back is a 503: the queue is full
            gate.set()
            statuses = sorted(f.result().status_code for f in futures)
    assert 503 in statuses and 200 in statuses
