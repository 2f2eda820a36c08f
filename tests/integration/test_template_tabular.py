"""``loopml init --template tabular-classification``: the generated project works end to end.

One test walks what a user does with it, through the real CLI: run the pipeline (local), run it
again (all cache hits), run it on the process executor, break a step, resume after fixing it,
look at the lineage of the registered model, and run the project's own tests with pytest.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from loopml.cli.main import app

pytest.importorskip("sklearn")
pytestmark = pytest.mark.slow

runner = CliRunner()
REF = "pipelines/training.py:training"
MODEL = "breast-cancer-classifier"


def cli(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output, result.output
    assert result.exit_code == code, result.output
    return result.stdout


def cli_json(*args: str, code: int = 0) -> dict:
    return orjson.loads(cli(*args, "--json", code=code))


def loopml_process(project: Path, *args: str) -> str:
    """``loopml ARGS`` in its own process (as a user types it), in ``project``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    done = subprocess.run(
        [sys.executable, "-m", "loopml.cli.main", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def statuses(run: dict) -> dict[str, str]:
    return {s["name"]: s["status"] for s in run["steps"]}


def test_the_template_trains_caches_resumes_and_registers(project: Path) -> None:
    out = cli("init", "--template", "tabular-classification", str(project))
    assert "pipelines/training.py" in out
    for name in (
        "pipelines/training.py",
        "params.yaml",
        "space.yaml",
        "README.md",
        "tests/test_pipeline.py",
        ".gitignore",
        "loopml.toml",
    ):
        assert (project / name).is_file(), name

    # 1. end to end on the local executor, with the parameters file and an override
    first = cli_json("pipeline", "run", REF, "--config", "params.yaml", "-p", "n_estimators=30")
    assert first["status"] == "FINISHED", first["error"]
    assert list(statuses(first)) == [
        "ingest",
        "validate",
        "prepare",
        "train",
        "evaluate",
        "register",
    ]
    assert not any(s["cache_hit"] for s in first["steps"])
    assert first["registered"] == [f"models:/{MODEL}/1"]
    assert first["params"]["n_estimators"] == 30 and first["params"]["min_auc"] == 0.95

    # 2. the same again: every step is served from the cache, nothing is registered twice
    again = cli_json("pipeline", "run", REF, "--config", "params.yaml", "-p", "n_estimators=30")
    assert again["status"] == "FINISHED"
    assert all(s["cache_hit"] for s in again["steps"]), statuses(again)

    # 3. the process executor, every step in a worker (no cache), from a fresh `loopml` process
    proc = orjson.loads(
        loopml_process(
            project,
            "pipeline",
            "run",
            REF,
            "-p",
            "n_estimators=30",
            "--executor",
            "process",
            "--no-cache",
            "--json",
        )
    )
    assert proc["status"] == "FINISHED", proc["error"]
    assert proc["executor"] == "process"
    assert not any(s["cache_hit"] for s in proc["steps"])

    # 4. a broken step fails the run; after the fix, resume re-runs only what is left
    source = project / "pipelines" / "training.py"
    good = source.read_text()
    marker = "    scores = model.predict_proba("
    assert marker in good
    source.write_text(good.replace(marker, '    raise RuntimeError("injected failure")\n' + marker))
    failed = cli_json("pipeline", "run", REF, "-p", "seed=11", "-p", "n_estimators=30", code=1)
    assert failed["status"] == "FAILED"
    assert statuses(failed)["evaluate"] == "FAILED"
    assert statuses(failed)["register"] == "SKIPPED"
    assert "injected failure" in next(
        s["error"] for s in failed["steps"] if s["name"] == "evaluate"
    )
    shown = cli("pipeline", "show", failed["id"][:8])
    assert "injected failure" in shown and "resume" in shown
    source.write_text(good)
    resumed = cli_json("pipeline", "resume", failed["id"][:8])
    assert resumed["id"] == failed["id"]
    assert resumed["status"] == "FINISHED", resumed["error"]
    before = {s["name"]: s for s in failed["steps"]}
    after = {s["name"]: s for s in resumed["steps"]}
    for kept in ("ingest", "validate", "prepare", "train"):
        assert after[kept]["started_ms"] == before[kept]["started_ms"], kept  # not run again
    assert after["evaluate"]["status"] == "FINISHED" and not after["evaluate"]["cache_hit"]

    # 5. why train re-ran with another seed, in the cache's words
    why = cli_json("pipeline", "explain-cache", failed["id"], "train")
    assert not why["cache_hit"]
    assert any(c["name"] == "inputs" and c["changed"] for c in why["components"])

    # 6. lineage: model version -> steps -> artifacts -> the dataset version
    graph = cli_json("lineage", f"models:/{MODEL}/1")
    kinds = {n["id"]: n["kind"] for n in graph["nodes"]}
    assert kinds.get("data:/breast-cancer/1") == "dataset"
    assert graph["pipeline_run_id"] in {first["id"], again["id"]}
    steps = {"step:" + graph["pipeline_run_id"] + "/" + s for s in ("validate", "train")}
    assert steps <= set(kinds)
    tree = cli("lineage", f"models:/{MODEL}/1")
    assert "data:/breast-cancer/1" in tree and "step train" in tree

    listed = cli_json("pipeline", "runs")
    assert {r["id"] for r in listed["runs"]} >= {first["id"], again["id"], failed["id"]}

    # 7. the project's own tests pass with pytest, in a process of their own
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert " passed" in done.stdout


def test_a_template_never_overwrites_files(tmp_path: Path) -> None:
    target = tmp_path / "proj"
    (target / "pipelines").mkdir(parents=True)
    (target / "pipelines" / "training.py").write_text("# mine\n")
    result = runner.invoke(app, ["init", "--template", "tabular-classification", str(target)])
    assert result.exit_code == 1
    assert "pipelines/training.py" in result.output and "nothing was written" in result.output
    assert (target / "pipelines" / "training.py").read_text() == "# mine\n"
    assert not (target / "params.yaml").exists()
    bad = runner.invoke(app, ["init", "--template", "nope", str(tmp_path / "other")])
    assert bad.exit_code == 2
    assert "unknown template 'nope'" in bad.output and "tabular-classification" in bad.output


@pytest.mark.ray
def test_the_template_trains_on_ray(project: Path) -> None:
    """The same project on a local Ray instance (started by the executor, 127.0.0.1)."""
    pytest.importorskip("ray")
    cli("init", "--template", "tabular-classification", str(project))
    out = loopml_process(
        project, "pipeline", "run", REF, "-p", "n_estimators=20", "--executor", "ray", "--json"
    )
    run = orjson.loads(out[out.index("{") :])  # Ray may print its own lines first
    assert run["status"] == "FINISHED", run["error"]
    assert run["executor"] == "ray"
    assert run["registered"] == [f"models:/{MODEL}/1"]
    assert not any(s["cache_hit"] for s in run["steps"])
