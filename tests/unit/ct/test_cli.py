"""``loopml ct``: trigger, once, history (table and JSON) and status from the command line."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from loopml.cli.main import app
from loopml.ct import Controller
from tests.unit.ct.conftest import make_policy
from tests.unit.ct.support import DirectTrainer

POLICY = """
[ct.churn]
pipeline = "pipelines/training.py:training"
deployment = "churn-prod"
triggers = [{manual = true}]
"""

runner = CliRunner()


@pytest.mark.slow
def test_trigger_history_and_status(champion: str, project: Path) -> None:
    with (project / "loopml.toml").open("a") as fh:
        fh.write(POLICY)
    result = runner.invoke(app, ["ct", "trigger", "churn", "--reason", "campaign", "--key", "k1"])
    assert result.exit_code == 0, result.output
    assert "manual:k1" in result.output
    again = runner.invoke(app, ["ct", "trigger", "churn", "--reason", "x", "--key", "k1", "--json"])
    assert orjson.loads(again.stdout)["reason"] == "campaign"  # one event per key
    # the pass itself, with a trainer that needs no pipeline file
    c = Controller([make_policy()], trainer=DirectTrainer(), alerts=None)
    c.run_once()
    c.close()
    history = runner.invoke(app, ["ct", "history", "churn", "--json"])
    decisions = orjson.loads(history.stdout)
    steps = [d["step"] for d in decisions]
    assert steps[:3] == ["trigger", "run", "training"] and "gate" in steps
    gate = next(d for d in decisions if d["numbers"].get("gate") == "improvement")
    assert gate["numbers"]["candidate"] > gate["numbers"]["champion"]
    table = runner.invoke(app, ["ct", "history", "churn"])
    assert table.exit_code == 0 and "improvement: candidate auc" in table.output
    status = orjson.loads(runner.invoke(app, ["ct", "status", "--json"]).stdout)
    assert status["policies"][0]["run"]["state"] == "rolling_out"
    assert status["lease"] is None  # the controller gave it back
    text = runner.invoke(app, ["ct", "status"])
    assert "rolling_out" in text.output and "models:/churn/2" in text.output


def test_errors_are_clear(project: Path) -> None:
    with (project / "loopml.toml").open("a") as fh:
        fh.write(POLICY)
    result = runner.invoke(app, ["ct", "trigger", "fraud", "--reason", "x"])
    assert result.exit_code == 1 and "no CT policy 'fraud' (policies: churn)" in result.output
    with (project / "loopml.toml").open("a") as fh:
        fh.write("[ct.bad]\npipeline = 'x.py:y'\nrollout = {canary_weight = 0}\n")
    result = runner.invoke(app, ["ct", "once"])
    assert result.exit_code == 2 and "ct.bad.rollout.canary_weight" in result.output
    assert runner.invoke(app, ["ct", "history", "nobody"]).exit_code == 0
