"""A deployment served for real: canary split, sticky A/B, a failing shadow, payload log and
per-route counters, on uvicorn at 127.0.0.1 with registered sklearn models."""

from __future__ import annotations

import collections
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import loopml
from loopml.serving import create_deployment, deployment_counters, serve_in_thread
from loopml.serving.deploy_app import build_deployment_app
from loopml.serving.recorder import read_payloads

pd = pytest.importorskip("pandas")
np = pytest.importorskip("numpy")
pytest.importorskip("sklearn")

BODY = {"dataframe_split": {"columns": ["a", "b"], "data": [[0.5, -1.0]]}}


class Broken(loopml.PythonModel):
    """A shadow that fails on every request but its smoke test."""

    def predict(self, context: Any, inputs: Any) -> Any:
        raise RuntimeError("shadow model is broken")


@pytest.fixture
def versions(project: Path) -> dict[str, Any]:
    from sklearn.dummy import DummyClassifier

    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0], "b": [1.0, 0.0, 1.0]})
    models = {}
    for constant in (0, 1):  # v1 always says 0, v2 always says 1
        model = DummyClassifier(strategy="constant", constant=constant).fit(frame, [0, 1, 0])
        with loopml.start_run():
            info = loopml.log_model(model, "model", input_example=frame)
        models[str(loopml.register_model(info.uri, "churn").version)] = model
    with loopml.start_run():
        info = loopml.log_model(Broken(), "model")
    loopml.register_model(info.uri, "broken")
    return models


@pytest.fixture
def canary(versions: dict[str, Any]) -> Iterator[str]:
    create_deployment(
        "churn-prod",
        "models:/churn/1",
        canary="models:/churn/2",
        canary_weight=30,
        shadows=["models:/broken/1"],
    )
    with serve_in_thread(build_deployment_app("churn-prod", flush_interval_s=0.2)) as url:
        yield url


def test_canary_split_shadow_payloads_and_counters(canary: str, project: Path) -> None:
    seen: collections.Counter[str] = collections.Counter()
    with httpx.Client(base_url=canary, timeout=30) as client:
        for _ in range(200):  # bounded
            r = client.post("/invocations", json=BODY)
            assert r.status_code == 200, r.text  # the broken shadow never shows
            version = r.headers["x-loopml-model-version"]
            assert r.json() == {"predictions": [int(version) - 1]}
            seen[version] += 1
        assert 30 < seen["2"] < 95 and seen["1"] + seen["2"] == 200
        r = client.post(
            "/v2/models/churn-prod/versions/2/infer",
            json={
                "inputs": [
                    {"name": "a", "shape": [1], "datatype": "FP64", "data": [1.0]},
                    {"name": "b", "shape": [1], "datatype": "FP64", "data": [1.0]},
                ]
            },
        )
        assert r.json()["model_version"] == "2" and r.json()["model_name"] == "churn-prod"
        metrics = client.get("/metrics").text
        assert 'protocol="shadow"' in metrics
    deadline = time.monotonic() + 10
    while True:  # the recorder flushes every 0.2 s
        table = read_payloads("churn-prod")
        served = [s for s in table.column("shadow").to_pylist() if not s]
        if len(served) == 201 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(served) == 201
    rows = table.to_pylist()
    main = [r for r in rows if not r["shadow"]]
    assert len({r["request_id"] for r in main}) == 201
    assert all(r["deployment"] == "churn-prod" and r["latency_ms"] > 0 for r in main)
    shadow = [r for r in rows if r["shadow"]]
    assert shadow and all(r["status"] == 500 and r["outputs"] is None for r in shadow)
    counters = {c.route: c for c in deployment_counters("churn-prod")}
    assert counters["main"].requests + counters["canary"].requests == 201
    assert (
        counters["shadow:models:/broken/1"].errors == counters["shadow:models:/broken/1"].requests
    )


def test_ab_assignment_is_sticky(versions: dict[str, Any]) -> None:
    create_deployment(
        "churn-ab",
        "models:/churn/1",
        ab="models:/churn/2",
        split=50,
        sticky_header="X-User-Id",
        payload_logging=False,
    )
    with (
        serve_in_thread(build_deployment_app("churn-ab")) as url,
        httpx.Client(base_url=url) as client,
    ):
        sides = {}
        for user in range(40):
            got = {
                client.post("/invocations", json=BODY, headers={"X-User-Id": f"u{user}"}).headers[
                    "x-loopml-model-version"
                ]
                for _ in range(3)
            }
            assert len(got) == 1  # the same user always sees the same version
            sides[user] = got.pop()
        assert set(sides.values()) == {"1", "2"}
