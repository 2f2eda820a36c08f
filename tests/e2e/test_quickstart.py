"""``loopml quickstart`` end to end: the real command (short loop) once, then again in-process.

The first run is the whole demo as ``make demo`` runs it, with ``--short`` sizes: the tracking
tour, then the loop (pipeline, champion, serving, traffic, shift, drift alert, retrain, canary,
promotion). The assertions read the project afterwards through the SDK and the CLI, so they
check what the demo did, not what it printed.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

import loopml
from loopml.cli import quickstart_runs
from loopml.cli.main import app

pytest.importorskip("sklearn")
runner = CliRunner()
ARTIFACTS = {"classification_report.json", "model", "predictions.parquet", "roc_curve.png"}


def run_json(*args: str) -> object:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout)


def _check_tour(out: str, demo: Path) -> list[str]:
    """The six tracked runs, their artifacts and curves, and the commands printed for them."""
    assert "ranked by test AUC" in out and "What to type next" in out
    ids = re.findall(r"\b[0-9a-f]{32}\b", out)
    best = re.search(r"loopml runs show -C demo-project ([0-9a-f]{32})", out)
    assert best is not None
    assert f"loopml artifacts ls -C demo-project runs:/{best.group(1)}/" in out
    assert "loopml runs compare -C demo-project " in out

    body = run_json("runs", "list", "-C", "demo-project", "-e", "quickstart")
    assert isinstance(body, dict)
    runs = body["runs"]
    assert len(runs) == 6 and {r["run_id"] for r in runs} <= set(ids)
    assert {r["status"] for r in runs} == {"FINISHED"}
    assert {r["params"]["model"] for r in runs} == {
        "logistic_regression",
        "random_forest",
        "gradient_boosting",
    }
    assert all(0.9 < r["metrics"]["test_auc"] <= 1.0 for r in runs)
    for r in runs:
        listed = run_json("artifacts", "ls", "-C", "demo-project", f"runs:/{r['run_id']}/")
        assert {a["path"] for a in listed} == ARTIFACTS  # type: ignore[union-attr,index]

    # the commands it suggests work, exactly as printed
    for line in out.splitlines():
        command = line.strip()
        if command.startswith(("loopml runs list", "loopml runs compare")):
            result = runner.invoke(app, shlex.split(command)[1:])
            assert result.exit_code == 0, (command, result.output)
            assert "No runs" not in result.output, command

    # per-step curves where the model has steps
    gb = next(r for r in runs if r["params"]["model"] == "gradient_boosting")
    loopml.configure(demo)
    assert len(loopml.get_metric_history(gb["run_id"], "train_loss")) == 150
    auc_curve = loopml.get_metric_history(gb["run_id"], "test_auc")
    assert [m.step for m in auc_curve] == list(range(1, 151))
    assert auc_curve[-1].value == pytest.approx(gb["metrics"]["test_auc"])
    predictions = loopml.load_table(f"runs:/{gb['run_id']}/predictions")
    assert list(predictions.columns) == ["row", "y_true", "y_pred", "p_benign"]

    # the tour's champion, its data and the drift report of a shifted batch
    assert (demo / "reports" / "drift.html").read_text().count("<svg") >= 3
    champion = loopml.get_model_version("models:/quickstart-classifier@champion")
    assert champion.run_id is not None
    assert [i.name for i in loopml.data.inputs_of_run(champion.run_id)] == ["breast-cancer"]
    return [r["run_id"] for r in runs]


def _check_loop(out: str, demo: Path) -> None:
    """The loop closed: drift alert, retrain on v2, gates, canary, promotion, no failures."""
    from loopml.ct.controller import Controller
    from loopml.ct.policy import load_policies
    from loopml.monitoring.alerts import list_alerts
    from loopml.serving.deployments import deployment_counters, get_deployment

    loopml.configure(demo)
    assert (demo / "pipelines" / "training.py").is_file()
    policies = load_policies(demo)
    assert policies["churn"].deployment == "churn-prod"

    # data v1 trained the first champion; the shifted snapshot v2 trained the new one
    versions = loopml.data.list_versions("customers")
    assert [v.version for v in versions] == [2, 1]
    first = loopml.get_model_version("models:/churn/1")
    champion = loopml.get_model_version("models:/churn@champion")
    assert champion.version == 2
    assert [d.uri for d in champion.datasets] == ["data:/customers/2"]
    assert [d.uri for d in first.datasets] == ["data:/customers/1"]

    # the alert that started it
    alerts = list_alerts("churn-prod", name="input_drift")
    assert alerts, "no input_drift alert was stored"

    # every decision is in the log, with reasons, in order
    controller = Controller(policies)
    try:
        decisions = list(reversed(controller.history("churn")))
        runs = controller.runs("churn")
    finally:
        controller.close()
    steps = [(d.step, d.outcome) for d in decisions]
    assert ("trigger", "info") in steps
    gates = {d.numbers.get("gate"): d for d in decisions if d.step == "gate"}
    assert {"package", "improvement", "slices"} <= set(gates)
    assert all(d.outcome == "pass" for d in gates.values())
    assert gates["improvement"].numbers["candidate"] > gates["improvement"].numbers["champion"]
    assert any(d.step == "trigger" and "input_drift" in d.reason for d in decisions), (
        "the drift alert did not trigger the controller"
    )
    assert [r.state for r in runs] == ["promoted"]
    assert runs[0].candidate == "models:/churn/2"

    # the deployment ends on the champion alone; nothing failed on any route
    config = get_deployment("churn-prod").config
    assert [(r["name"], r["model"], r["weight"]) for r in config["routes"]] == [
        ("main", "models:/churn@champion", 100)
    ]
    counters = deployment_counters("churn-prod")
    assert {c.route for c in counters} >= {"main", "canary"}
    assert sum(c.errors for c in counters) == 0
    assert sum(c.requests for c in counters) >= 500

    # what it printed: the summary, the timing, the inspection commands
    assert "The loop in" in out
    match = re.search(r"From the drift alert to the promoted canary: ([0-9.]+)s", out)
    assert match is not None and float(match.group(1)) > 0
    match = re.search(r"over the whole demo: (\d+) requests, (\d+) failed", out)
    assert match is not None and int(match.group(1)) >= 500 and match.group(2) == "0"
    for line in out.splitlines():
        command = line.strip()
        if command.startswith(("loopml ct history", "loopml models show churn")):
            result = runner.invoke(app, shlex.split(command)[1:])
            assert result.exit_code == 0, (command, result.output)


@pytest.mark.slow
def test_quickstart_closes_the_loop(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = project.parent / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    env["COLUMNS"] = "200"
    first = subprocess.run(
        [sys.executable, "-c", "from loopml.cli.main import run; run()", "quickstart", "--short"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    shown = first.stdout.split("What to type next")[0][-6000:]  # the stages and the summary
    assert first.returncode == 0, shown + first.stderr[-2000:]
    assert "Traceback" not in first.stderr
    demo = work / "demo-project"  # the default --dir
    assert (demo / "loopml.toml").is_file() and (demo / ".loopml").is_dir()
    ids = _check_tour(first.stdout, demo)
    _check_loop(first.stdout, demo)

    # a second run (here without matplotlib, and only the tour) reuses the project, adds runs
    monkeypatch.setattr(quickstart_runs, "have_matplotlib", lambda: False)
    second = runner.invoke(app, ["quickstart", "--dir", "demo-project", "--no-loop"])
    assert second.exit_code == 0, second.output
    assert "Using project" in second.output and "matplotlib is not installed" in second.output
    body = run_json("runs", "list", "-C", "demo-project", "-e", "quickstart")
    new = [r for r in body["runs"] if r["run_id"] not in ids]  # type: ignore[index]
    assert len(body["runs"]) == 12 and len(new) == 6  # type: ignore[index]
    listed = run_json("artifacts", "ls", "-C", "demo-project", new[0]["run_id"])
    assert {a["path"] for a in listed} == ARTIFACTS - {"roc_curve.png"}  # type: ignore[union-attr,index]

    # the Python tour in docs/quickstart.md runs against this project, as written
    import loopml.tracking.fluent as fluent

    fluent._experiment = None
    page = Path(__file__).resolve().parents[2] / "docs" / "quickstart.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), re.DOTALL)
    assert len(blocks) == 3
    namespace: dict[str, object] = {}
    for code in blocks:
        exec(compile(code, "docs/quickstart.md", "exec"), namespace)
    best_auc = max(r["metrics"]["test_auc"] for r in body["runs"])  # type: ignore[index]
    assert namespace["best"].metrics["test_auc"] == best_auc  # type: ignore[attr-defined]
