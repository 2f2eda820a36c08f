"""Liveness against a real uvicorn app on 127.0.0.1: ready, not ready, down, and hanging."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import loopml
from loopml.errors import InvalidParameterError
from loopml.monitoring import check_liveness, list_alerts
from loopml.server.threaded import uvicorn_in_thread

STATE = {"ready": False}


async def ready(_: Request) -> JSONResponse:
    return JSONResponse({"ready": STATE["ready"]}, 200 if STATE["ready"] else 503)


@pytest.fixture
def app_url() -> Iterator[str]:
    app = Starlette(routes=[Route("/v2/health/ready", ready)])
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", lifespan="off")
    with uvicorn_in_thread(config, name="liveness-test") as url:
        yield url


def test_ready_not_ready_and_down(project: Path, app_url: str) -> None:
    (project / "loopml.toml").write_text(
        f'[loopml]\n[monitor.churn-prod]\nhealth_url = "{app_url}"\ncooldown = "1s"\n'
    )
    loopml.configure(project)
    STATE["ready"] = False
    result = check_liveness("churn-prod")
    assert not result.ready and result.up and result.status == 503
    assert result.alert is not None and result.alert.name == "deployment_down"
    assert "not ready" in result.alert.message and result.alert.severity == "critical"
    STATE["ready"] = True
    ok = check_liveness("churn-prod")
    assert ok.ready and ok.alert is None and ok.url == f"{app_url}/v2/health/ready"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    time.sleep(1.1)  # past the cooldown
    down = check_liveness("churn-prod", url=f"http://127.0.0.1:{closed}")
    assert not down.up and down.alert is not None and "unreachable" in down.reason
    assert [a.name for a in list_alerts("churn-prod")] == ["deployment_down"] * 2


def test_a_hanging_server_times_out(project: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts connections, never answers
    port = listener.getsockname()[1]
    try:
        started = time.perf_counter()
        result = check_liveness(f"http://127.0.0.1:{port}", timeout_s=0.5)
        assert time.perf_counter() - started < 3
        assert not result.ready and "no answer within 0.5 s" in result.reason
        assert result.alert is not None and result.alert.deployment == f"http://127.0.0.1:{port}"
    finally:
        listener.close()


def test_unknown_health_url_is_an_actionable_error(project: Path) -> None:
    with pytest.raises(InvalidParameterError, match="health_url"):
        check_liveness("churn-prod")


def test_cli_exit_code_follows_readiness(project: Path, app_url: str) -> None:
    from typer.testing import CliRunner

    from loopml.cli.main import app

    runner = CliRunner()
    STATE["ready"] = True
    ok = runner.invoke(app, ["monitor", "liveness", "churn-prod", "--url", app_url, "--json"])
    assert ok.exit_code == 0 and '"ready": true' in ok.output
    STATE["ready"] = False
    down = runner.invoke(app, ["monitor", "liveness", "churn-prod", "--url", app_url])
    assert down.exit_code == 1 and "not ready (HTTP 503)" in down.output
