"""``loopml quickstart`` end to end: the real command once, then again in-process (adding runs)."""

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
from loopml.cli import quickstart
from loopml.cli.main import app

pytest.importorskip("sklearn")
runner = CliRunner()
ARTIFACTS = {"classification_report.json", "model", "predictions.parquet", "roc_curve.png"}


def run_json(*args: str) -> object:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout)


@pytest.mark.slow
def test_quickstart_twice(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = project.parent / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    env["COLUMNS"] = "200"
    first = subprocess.run(
        [sys.executable, "-c", "from loopml.cli.main import run; run()", "quickstart"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr
    demo = work / "demo-project"  # the default --dir
    assert (demo / "loopml.toml").is_file() and (demo / ".loopml").is_dir()

    out = first.stdout
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

    # a second run (here without matplotlib) reuses the project and adds runs
    monkeypatch.setattr(quickstart, "_have_matplotlib", lambda: False)
    second = runner.invoke(app, ["quickstart", "--dir", "demo-project"])
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
    assert len(blocks) == 2
    namespace: dict[str, object] = {}
    for code in blocks:
        exec(compile(code, "docs/quickstart.md", "exec"), namespace)
    best_auc = max(r["metrics"]["test_auc"] for r in body["runs"])  # type: ignore[index]
    assert namespace["best"].metrics["test_auc"] == best_auc  # type: ignore[attr-defined]


@pytest.mark.slow
def test_quickstart_runs_the_loop_so_far(tmp_path: Path) -> None:
    """The demo versions its data, registers a champion and reports drift of a shifted batch."""
    import loopml

    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    demo = tmp_path / "demo"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from loopml.cli.main import run; run()",
            "quickstart",
            "-d",
            str(demo),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "The loop so far" in done.stdout
    assert (demo / "reports" / "drift.html").read_text().count("<svg") >= 3
    loopml.configure(demo)
    champion = loopml.get_model_version("models:/quickstart-classifier@champion")
    assert champion.run_id is not None
    inputs = loopml.data.inputs_of_run(champion.run_id)
    assert [i.name for i in inputs] == ["breast-cancer"]
