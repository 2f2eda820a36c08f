"""The rollout against a real serving process: the deployment app picks up the canary the
controller configures, real requests fill the canary's counters and payload log, and the
controller promotes on those numbers (p99 read from the payload log) with no failed request."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

import loopml
from loopml.ct import Controller
from loopml.serving import create_deployment, serve_in_thread
from loopml.serving.deploy_app import build_deployment_app
from tests.unit.ct.conftest import make_policy
from tests.unit.ct.support import DirectTrainer, log_and_register, make_table

pytest.importorskip("sklearn")

BODY = {"dataframe_records": [{"x1": 0.3, "x2": -1.2, "pro": 1}]}


@pytest.mark.slow
def test_canary_promoted_on_live_traffic(project: Path) -> None:
    log_and_register("ok", make_table().iloc[:800])
    loopml.set_alias("churn", "champion", 1)
    create_deployment("churn-prod", "models:/churn@champion")
    policy = make_policy(
        rollout={
            "canary_weight": 30,
            "min_requests": 40,
            "max_error_rate": 0.01,
            "max_p99_ms": 2000,
        }
    )
    c = Controller([policy], trainer=DirectTrainer(), alerts=None)
    app = build_deployment_app("churn-prod", flush_interval_s=0.2, reload_interval_s=0.2)
    versions: list[str] = []
    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        c.trigger("churn", "retrain")
        c.run_once()
        assert c.runs("churn")[0].state == "rolling_out"
        deadline = time.monotonic() + 60
        while c.runs("churn")[0].state == "rolling_out":
            assert time.monotonic() < deadline, c.history("churn")[-1].reason
            for _ in range(20):
                r = client.post("/invocations", json=BODY)
                assert r.status_code == 200, r.text
                versions.append(r.headers["x-loopml-model-version"])
            time.sleep(0.25)  # the recorder flushes counters every 0.2 s
            c.run_once()
        assert c.runs("churn")[0].state == "promoted", c.runs("churn")[0].outcome
        assert "1" in versions and "2" in versions  # both served during the canary
        time.sleep(0.6)  # the app reloads the promoted configuration
        after = [client.post("/invocations", json=BODY) for _ in range(20)]
        assert all(r.status_code == 200 for r in after)
        assert {r.headers["x-loopml-model-version"] for r in after} == {"2"}
    rollout = next(d for d in c.history("churn") if d.step == "rollout" and d.outcome == "pass")
    assert rollout.numbers["requests"] >= 40 and rollout.numbers["errors"] == 0
    assert rollout.numbers["p99_ms"] is not None and rollout.numbers["p99_rows"] >= 40
    assert "p99" in rollout.reason and "max 2000 ms" in rollout.reason
    assert loopml.get_model_version("models:/churn@champion").version == 2
    c.close()
