"""The quickstart's parts, fast: the managed policy block, the demo data, the traffic client."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopml.cli.quickstart_data import FEATURES, SHIFTED, TARGET, customers, features
from loopml.cli.quickstart_project import FULL, SHORT, write_pipeline, write_policy


def test_policy_block_is_replaced_not_repeated(tmp_path: Path) -> None:
    from loopml.ct.policy import load_policies

    toml = tmp_path / "loopml.toml"
    toml.write_text('[loopml]\nflush_interval = 2.0\n\n[other]\nkeep = "me"\n')
    write_policy(tmp_path, FULL)
    write_policy(tmp_path, SHORT)
    text = toml.read_text()
    assert text.count("[ct.churn]") == 1 and text.count("[monitor.churn-prod]") == 1
    assert text.startswith('[loopml]\nflush_interval = 2.0\n\n[other]\nkeep = "me"\n\n')
    policy = load_policies(tmp_path)["churn"]
    assert policy.rollout.min_requests == SHORT.min_requests
    assert policy.rollout.canary_weight == SHORT.canary_weight
    assert [t.describe() for t in policy.triggers] == [
        "new_data customers",
        "alert input_drift",
        "alert accuracy_drop",
        "cron 0 3 * * 1",
    ]
    assert policy.params == {"dataset": "data:/customers@latest"}
    write_policy(tmp_path, FULL)
    assert toml.read_text().count("\n\n\n") == 0  # no blank lines pile up across reruns
    assert load_policies(tmp_path)["churn"].rollout.min_requests == FULL.min_requests


def test_pipeline_file_is_written_once(tmp_path: Path) -> None:
    path = write_pipeline(tmp_path)
    assert "@pipeline" in path.read_text() and "register_if(" in path.read_text()
    path.write_text("# the user's own version\n")
    write_pipeline(tmp_path)
    assert path.read_text() == "# the user's own version\n"


def test_demo_data_is_reproducible_and_shifts_what_it_says() -> None:
    import loopml.data

    a, b = customers(500, seed=3), customers(500, seed=3)
    assert a.equals(b)
    assert list(a.columns) == [*FEATURES, TARGET]
    assert set(a["plan"]) == {"basic", "standard", "premium"}
    reference = features(customers(4000, seed=1))
    same = loopml.data.drift(reference=reference, current=features(customers(500, seed=2)))
    assert same.drifted_columns == []
    moved = features(customers(500, seed=2, shifted=True))
    report = loopml.data.drift(reference=reference, current=moved)
    assert set(SHIFTED) <= set(report.drifted_columns)
    assert "age" not in report.drifted_columns and "plan" not in report.drifted_columns
    assert moved["monthly_charges"].mean() > reference["monthly_charges"].mean() + 10


@pytest.fixture
def echo_server() -> object:
    """A real HTTP server on 127.0.0.1 that answers like /invocations (or fails on demand)."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from loopml.server.threaded import uvicorn_in_thread

    state = {"version": "1", "fail": False}

    async def invocations(request: Request) -> JSONResponse:
        body = await request.json()
        rows = body["dataframe_split"]["data"]
        if state["fail"]:
            return JSONResponse({"error": "boom"}, status_code=500)
        return JSONResponse(
            {"predictions": [0] * len(rows)},
            headers={"x-loopml-model-version": str(state["version"])},
        )

    app = Starlette(routes=[Route("/invocations", invocations, methods=["POST"])])
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    with uvicorn_in_thread(config, name="echo") as url:
        yield url, state


def test_traffic_counts_every_answer(echo_server: tuple[str, dict[str, object]]) -> None:
    from loopml.cli.quickstart_traffic import Traffic

    url, state = echo_server
    frame = customers(50, seed=1)
    traffic = Traffic(url, rate=400.0, concurrency=4)
    traffic.switch("baseline", features(frame), frame[TARGET])
    traffic.start()
    try:
        assert traffic.wait_for(60, timeout=30) >= 60
        state["version"] = "2"
        assert traffic.wait_served_by("2", timeout=30)
        state["fail"] = True
        traffic.wait_for(20, timeout=30)  # a few in flight still answer 200
    finally:
        traffic.stop()
    stats = traffic.stats
    assert stats.ok >= 80 and stats.failed >= 10
    assert stats.sent == stats.ok + stats.failed
    assert set(stats.by_version) == {"1", "2"}
    assert next(iter(stats.errors)).startswith("HTTP 500")
    assert all(rid.startswith("baseline-") for rid in traffic.labels)
    assert set(traffic.labels.values()) <= {0, 1} and len(traffic.labels) == stats.ok
