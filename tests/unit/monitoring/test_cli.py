"""``loopml monitor`` and ``loopml alerts`` on a logged deployment."""

from __future__ import annotations

from pathlib import Path

import orjson
from typer.testing import CliRunner

from loopml.cli.main import app
from tests.unit.monitoring.conftest import HOUR, T0, Served, log_requests, make_data


def test_monitor_and_alerts_commands(served: Served, tmp_path: Path) -> None:
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, result.output
        return result.output

    frames = [make_data(300, seed=i + 1) for i in range(3)]
    ids = log_requests(served.deployment, frames, served.model)
    log_requests(
        served.deployment,
        [make_data(300, shift=2.0, seed=i + 9) for i in range(3)],
        served.model,
        start_ms=T0 + HOUR,
        status=200,
    )
    out = run("monitor", "status", "churn-prod")
    assert "Windows (1h)" in out and "f0" in out and "DRIFT" in out
    data = orjson.loads(run("monitor", "status", "churn-prod", "--json"))
    assert [len(w["metrics"]["input_drift"]["drifted"]) for w in data["windows"]] == [0, 2]
    labels = tmp_path / "labels.csv"
    lines = ["request_id,row,label"] + [
        f"{rid},{row},{label}"
        for rid, frame in zip(ids, frames, strict=True)
        for row, label in enumerate(frame["target"].tolist())
    ]
    labels.write_text("\n".join(lines) + "\n")
    assert "recorded 900 labels" in run("monitor", "feedback", "churn-prod", str(labels))
    data = orjson.loads(run("monitor", "status", "churn-prod", "--json"))
    assert data["windows"][0]["metrics"]["quality"]["labels"] == 900
    page = tmp_path / "out" / "monitor.html"
    assert "wrote" in run("monitor", "report", "churn-prod", "--window", "1h", "-o", str(page))
    html = page.read_text()
    assert "Monitoring" in html and "<svg" in html and "accuracy" in html and "f1" in html
    rules = orjson.loads(run("alerts", "rules", "churn-prod", "--json"))
    assert {r["alert"] for r in rules["rules"]} >= {"input_drift", "latency", "deployment_down"}
    assert "drift_share > 0.3 for 2 windows" in run("alerts", "rules", "churn-prod")
    fired = orjson.loads(
        run("alerts", "evaluate", "churn-prod", "--rule", "drift_share > 0.3", "--json")
    )
    assert [a["name"] for a in fired] == ["input_drift"]
    listed = orjson.loads(run("alerts", "list", "--json"))
    assert [a["name"] for a in listed] == ["input_drift"]
    assert "input_drift" in run("alerts", "list", "churn-prod")
    missing = run("monitor", "status", "nope", code=1)
    assert "no deployment 'nope'" in missing
    bad = run("monitor", "report", "churn-prod", "--window", "soon", code=2)
    assert "not a duration" in bad
