"""Hot reload on uvicorn at 127.0.0.1: an alias that moves, a deployment that changes, a new
version whose smoke test fails (the old one keeps serving), and a request in flight across the
switch (it finishes on the old version)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

import loopml
from loopml.serving import create_deployment, serve_in_thread, update_deployment
from loopml.serving.deploy_app import build_deployment_app
from loopml.serving.recorder import read_payloads
from loopml.serving.run import ServeSpec, build_app

pd = pytest.importorskip("pandas")
pytest.importorskip("sklearn")

BODY = {"dataframe_split": {"columns": ["a", "b"], "data": [[0.5, -1.0]]}}
FRAME = {"a": [0.0, 1.0, 2.0], "b": [1.0, 0.0, 1.0]}


class Constant(loopml.PythonModel):
    """Says ``value`` for every row, after ``delay`` seconds; fails every predict (so its smoke
    test on the input example too) once the file ``breaker`` exists."""

    def __init__(self, value: int, delay: float = 0.0, breaker: str | None = None) -> None:
        self.value, self.delay, self.breaker = value, delay, breaker

    def predict(self, context: Any, inputs: Any) -> Any:
        if self.breaker is not None and Path(self.breaker).exists():
            raise RuntimeError("this version is broken")
        time.sleep(self.delay)
        return [self.value] * len(inputs)


def _register(model: Any, name: str = "churn") -> int:
    with loopml.start_run():
        info = loopml.log_model(model, "model", input_example=pd.DataFrame(FRAME))
    return int(loopml.register_model(info.uri, name).version)


def _wait_for(client: httpx.Client, version: str, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        r = client.post("/invocations", json=BODY)
        assert r.status_code == 200, r.text
        if r.headers["x-loopml-model-version"] == version:
            return
        time.sleep(0.05)
    raise AssertionError(f"still not serving version {version}")


def _reloads(client: httpx.Client, result: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(f'loopml_serving_reloads_total{{result="{result}"}}'):
            return float(line.split()[-1])
    return 0.0


@pytest.mark.slow
def test_alias_moves_and_a_broken_version_is_refused(project: Path) -> None:
    _register(Constant(1))
    _register(Constant(2))
    breaker = project / "v3-is-broken"
    _register(Constant(3, breaker=str(breaker)))
    breaker.touch()  # from now on v3 fails, as a version broken in this environment would
    loopml.set_alias("churn", "champion", 1)
    app = build_app(ServeSpec("models:/churn@champion", reload_interval_s=0.1), smoke_test=True)
    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        assert client.get("/v2/health/ready").status_code == 200
        r = client.post("/invocations", json=BODY)
        assert r.headers["x-loopml-model-version"] == "1" and r.json() == {"predictions": [1]}
        loopml.set_alias("churn", "champion", 2)
        _wait_for(client, "2")
        assert client.post("/invocations", json=BODY).json() == {"predictions": [2]}
        v2 = client.post(
            "/v2/models/churn/infer",
            json={
                "inputs": [
                    {"name": "a", "shape": [1], "datatype": "FP64", "data": [1.0]},
                    {"name": "b", "shape": [1], "datatype": "FP64", "data": [1.0]},
                ]
            },
        ).json()
        assert v2["model_version"] == "2"
        loopml.set_alias("churn", "champion", 3)  # fails its smoke test: v2 stays
        deadline = time.monotonic() + 15
        while _reloads(client, "failed") < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _reloads(client, "failed") == 1 and _reloads(client, "ok") == 1
        for _ in range(20):
            r = client.post("/invocations", json=BODY)
            assert r.status_code == 200 and r.headers["x-loopml-model-version"] == "2"
        assert client.get("/ready").status_code == 200


@pytest.mark.slow
def test_deployment_change_switches_and_in_flight_requests_finish_on_the_old(
    project: Path,
) -> None:
    _register(Constant(1, delay=1.0))  # slow: a request is surely in flight at the switch
    _register(Constant(2))
    create_deployment("svc", "models:/churn/1")
    app = build_deployment_app("svc", flush_interval_s=0.1, reload_interval_s=0.1)
    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        answers: list[httpx.Response] = []
        slow = threading.Thread(
            target=lambda: answers.append(httpx.post(f"{url}/invocations", json=BODY, timeout=30))
        )
        slow.start()
        time.sleep(0.3)
        update_deployment("svc", model="models:/churn/2")
        _wait_for(client, "2")
        slow.join()
        (old,) = answers
        assert old.status_code == 200 and old.headers["x-loopml-model-version"] == "1"
        assert old.json() == {"predictions": [1]}
        logged = {client.post("/invocations", json=BODY).headers["x-request-id"] for _ in range(3)}
        update_deployment("svc", payload_logging=False)  # same model: reused, not reloaded
        deadline = time.monotonic() + 15
        while _reloads(client, "ok") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _reloads(client, "ok") == 2
        quiet = {client.post("/invocations", json=BODY).headers["x-request-id"] for _ in range(3)}
    rows = {r["request_id"]: r for r in read_payloads("svc").to_pylist()}
    assert rows[old.headers["x-request-id"]]["model_version"] == "1"
    assert all(rows[rid]["model_version"] == "2" for rid in logged)
    assert not quiet & set(rows)  # logged only while the configuration said so
    assert all(r["protocol"] == "mlflow" and r["route"] == "main" for r in rows.values())
