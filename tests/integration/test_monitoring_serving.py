"""The loop so far, for real: a served deployment (uvicorn on 127.0.0.1) logs payloads to the
object store, labels arrive on ``POST /feedback``, monitoring windows see a covariate shift and
an accuracy drop, alerts fire, and liveness tracks the process going down."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

import loopml
from loopml.monitoring import (
    check_liveness,
    compute_windows,
    evaluate_alerts,
    list_alerts,
)
from loopml.serving import serve_in_thread
from loopml.serving.deploy_app import build_deployment_app
from tests.unit.monitoring.conftest import FEATURES, Served, make_data, serve_project

pytest.importorskip("sklearn")

pytestmark = pytest.mark.slow


@pytest.fixture
def served(project: Path) -> Iterator[Served]:
    yield from serve_project(project)


def _post(client: httpx.Client, frame: object, body_kind: str) -> str:
    rows = frame[FEATURES]  # type: ignore[index]
    if body_kind == "split":
        body = {"dataframe_split": {"columns": FEATURES, "data": rows.to_numpy().tolist()}}
        r = client.post("/invocations", json=body)
    elif body_kind == "records":
        r = client.post("/invocations", json={"dataframe_records": rows.to_dict("records")})
    else:
        inputs = [
            {"name": c, "shape": [len(rows)], "datatype": "FP64", "data": rows[c].tolist()}
            for c in FEATURES
        ]
        r = client.post("/v2/models/churn-prod/infer", json={"inputs": inputs})
    assert r.status_code == 200, r.text
    return r.headers["x-request-id"]


def test_served_traffic_is_monitored(served: Served, tmp_path: Path) -> None:
    app = build_deployment_app(served.deployment, flush_interval_s=0.2)
    kinds = ["split", "records", "v2"]
    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        (served.root / "loopml.toml").write_text(
            f'[loopml]\n[monitor.churn-prod]\nwindow = "requests=30"\nlag = 0\n'
            f'health_url = "{url}"\ncooldown = "1s"\n'
        )
        loopml.configure(served.root)
        assert check_liveness(served.deployment).ready
        calm = [make_data(40, seed=100 + i) for i in range(30)]
        ids = [_post(client, f, kinds[i % 3]) for i, f in enumerate(calm)]
        shifted = [make_data(40, shift=2.0, seed=200 + i) for i in range(30)]
        for i, f in enumerate(shifted):
            _post(client, f, kinds[i % 3])
        # labels for the calm traffic, a third of them wrong
        rng = np.random.default_rng(1)
        items = []
        for rid, frame in zip(ids, calm, strict=True):
            truth = frame["target"].to_numpy().copy()
            flip = rng.random(truth.size) < 0.33
            truth[flip] = 1 - truth[flip]
            items.append({"request_id": rid, "label": truth.tolist()})
        r = client.post("/feedback", json=items)
        assert r.status_code == 200 and r.json() == {"deployment": "churn-prod", "recorded": 1200}
        bad = client.post("/feedback", json={"label": 1})
        assert bad.status_code == 400 and "request_id" in bad.json()["error"]["message"]
        deadline = time.monotonic() + 20
        windows: list[object] = []
        while time.monotonic() < deadline and len(windows) < 2:
            time.sleep(0.3)
            windows += compute_windows(served.deployment)
        first, second = windows[:2]  # type: ignore[misc]
        assert first.requests == 30 and first.rows == 1200 and first.drifted_features == []
        assert first.metrics["skew"]["failed_requests"] == {}
        assert sorted(second.drifted_features) == ["f0", "f1"]
        assert second.metrics["output_drift"]["drifted"] is True
        assert first.values["accuracy_drop"] > 0.15  # a third of the labels were flipped
        fired = evaluate_alerts(served.deployment, extra_rules=["drift_share > 0.3"])
        assert {a.name for a in fired} >= {"input_drift", "accuracy_drop"}
    time.sleep(1.1)  # the server is gone and the cooldown has passed
    down = check_liveness(served.deployment, timeout_s=1)
    assert not down.up and down.alert is not None
    assert list_alerts(served.deployment, name="deployment_down")[-1].id == down.alert.id
