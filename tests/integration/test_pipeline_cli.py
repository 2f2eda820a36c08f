"""``loopml pipeline ...``, ``loopml tune`` and ``loopml lineage`` on a small real pipeline.

Every command runs against a real project (SQLite + object store in tmp); bad input must give
one ``error:`` line and the right exit code, never a traceback.
"""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from loopml.cli.main import app

runner = CliRunner()

PIPELINE = """
from loopml.pipeline import pipeline, step


@step
def load(n: int) -> list:
    return list(range(n))


@step
def total(xs: list, scale: float = 1.0) -> float:
    return sum(xs) * scale


@step
def double(xs: list) -> list:
    return [2 * x for x in xs]


@step
def check(t: float, doubled: list, limit: float) -> dict:
    if t > limit:
        raise ValueError(f"total {t} is above the limit {limit}")
    return {"score": -abs(t - 10.0), "n": len(doubled)}


@pipeline
def demo(n: int = 5, scale: float = 1.0, limit: float = 1000.0) -> None:
    xs = load(n)
    check(total(xs, scale=scale), double(xs), limit=limit)
"""
REF = "demo.py:demo"


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.stdout, result.stderr


def ok(*args: str) -> str:
    code, out, err = invoke(*args)
    assert code == 0, out + err
    return out


def as_json(*args: str, code: int = 0) -> dict:
    got, out, err = invoke(*args, "--json")
    assert got == code, out + err
    return orjson.loads(out)


@pytest.fixture
def demo(project: Path) -> Path:
    (project / "demo.py").write_text(PIPELINE)
    return project


@pytest.mark.slow
def test_run_show_runs_and_the_cache(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = ok("pipeline", "run", REF, "-p", "n=4")
    assert "FINISHED" in out
    for name in ("load", "total", "double", "check"):
        assert name in out
    first = as_json("pipeline", "run", REF, "-p", "n=4", "-p", "scale=2")
    assert first["status"] == "FINISHED"
    assert first["params"] == {"n": 4, "scale": 2.0, "limit": 1000.0}
    hits = {s["name"]: s["cache_hit"] for s in first["steps"]}
    assert hits == {"load": True, "total": False, "double": True, "check": False}

    again = as_json("pipeline", "run", REF, "-p", "n=4", "-p", "scale=2")
    assert all(s["cache_hit"] for s in again["steps"])
    assert "hit" in ok("pipeline", "run", REF, "-p", "n=4", "-p", "scale=2")
    fresh = as_json("pipeline", "run", REF, "-p", "n=4", "-p", "scale=2", "--no-cache")
    assert not any(s["cache_hit"] for s in fresh["steps"])

    shown = ok("pipeline", "show", first["id"][:8])
    assert first["id"] in shown and "also needs" in shown  # check waits on total and double
    assert "scale=2.0" in shown
    detail = as_json("pipeline", "show", first["id"])
    assert [s["name"] for s in detail["steps"]] == ["load", "total", "double", "check"]
    assert next(s for s in detail["steps"] if s["name"] == "check")["upstream"] == [
        "total",
        "double",
    ]

    listed = as_json("pipeline", "runs", "--pipeline", "demo")
    ids = [r["id"] for r in listed["runs"]]
    assert ids[0] == fresh["id"] and {first["id"], again["id"]} <= set(ids)
    assert len(ids) == 5
    assert "demo" in ok("pipeline", "runs")
    _, _, err = invoke("pipeline", "runs", "--pipeline", "nothing")
    assert "no pipeline runs yet of 'nothing'" in err

    why = as_json("pipeline", "explain-cache", first["id"], "total")
    assert not why["cache_hit"]
    params = next(c for c in why["components"] if c["name"] == "params")
    assert params["changed"] and any("scale" in d for d in params["details"])
    text = ok("pipeline", "explain-cache", first["id"][:8], "total")
    assert "parameters changed" in text and "scale" in text
    assert "hit the cache" in ok("pipeline", "explain-cache", first["id"], "load")

    elsewhere = demo.parent / "elsewhere"  # -C names the project from any folder
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert len(as_json("pipeline", "runs", "-C", str(demo))["runs"]) == 5
    assert as_json("pipeline", "show", first["id"], "-C", str(demo))["id"] == first["id"]


@pytest.mark.slow
def test_a_failed_run_shows_its_error_and_resumes(demo: Path) -> None:
    code, out, err = invoke("pipeline", "run", REF, "-p", "limit=5")
    assert code == 1
    assert "FAILED" in out
    assert "step check failed" in err and "above the limit 5.0" in err
    assert "loopml pipeline resume" in err
    failed = as_json("pipeline", "runs")["runs"][0]
    assert failed["status"] == "FAILED"
    shown = ok("pipeline", "show", failed["id"])
    assert "above the limit" in shown and "FAILED" in shown

    # the same parameters fail the same way on resume; the error is still the step's
    code, out, err = invoke("pipeline", "resume", failed["id"][:8])
    assert code == 1 and "above the limit" in err
    done = as_json("pipeline", "run", REF)
    _, _, err = invoke("pipeline", "resume", done["id"])
    assert "nothing to resume" in err


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["pipeline", "run", REF, "-p", "n=abc"],
            2,
            "parameter 'n' of pipeline 'demo' must be int",
        ),
        (["pipeline", "run", REF, "-p", "nope=1"], 2, "has no parameter 'nope'"),
        (["pipeline", "run", REF, "-p", "novalue"], 2, "not KEY=VALUE"),
        (["pipeline", "run", REF, "--executor", "gpu"], 2, "unknown executor 'gpu'"),
        (["pipeline", "run", "missing.py:demo"], 1, "does not exist"),
        (["pipeline", "run", "demo.py:nope"], 1, "no pipeline named 'nope'"),
        (["pipeline", "run", REF, "--config", "none.yaml"], 1, "none.yaml does not exist"),
        (["pipeline", "show", "0123456789abcdef0123456789abcdef"], 1, "no run"),
        (["pipeline", "explain-cache", "0123456789abcdef0123456789abcdef", "x"], 1, "no run"),
        (["pipeline", "export", REF, "--to", "prefect"], 2, "cannot export to 'prefect'"),
        (["lineage", "models:/nothing/1"], 1, "nothing"),
        (["tune", REF, "--space", "none.yaml", "--trials", "2"], 1, "does not exist"),
    ],
)
def test_bad_input_is_one_clear_error(demo: Path, args: list[str], code: int, message: str) -> None:
    got, out, err = invoke(*args)
    assert got == code, out + err
    assert message in err, err


def test_explain_cache_names_a_missing_step(demo: Path) -> None:
    run = as_json("pipeline", "run", REF)
    got, _, err = invoke("pipeline", "explain-cache", run["id"], "nope")
    assert got == 2 and "no step 'nope'" in err and "load, total" in err


def test_export_to_airflow_then_run_its_step_commands(demo: Path) -> None:
    out = ok("pipeline", "export", REF, "--to", "airflow", "-o", "dags", "-p", "n=3")
    assert "dags" in out
    files = list((demo / "dags").glob("*.py"))
    assert len(files) == 1
    source = files[0].read_text()
    ast.parse(source)  # a valid Python file (Airflow itself is not installed here)
    commands = re.findall(r"loopml pipeline run-step [^\n\"]*", source)
    steps = [re.search(r"--step (\S+)", c).group(1) for c in commands]  # type: ignore[union-attr]
    assert sorted(steps) == ["check", "double", "load", "total"]
    run_id = "manual__2026-11-23T10:00:00"
    for name in ("load", "total", "double", "check"):  # an order Airflow could pick
        command = next(c for c in commands if f"--step {name}" in c)
        args = [run_id if a == "{{ run_id }}" else a for a in shlex.split(command)[1:]]
        assert "n=3" in args
        step = as_json(*args)
        assert step["status"] in ("FINISHED", "CACHED"), step
    runs = as_json("pipeline", "runs")["runs"]
    assert runs[0]["status"] == "FINISHED" and runs[0]["params"]["n"] == 3
    got, _, err = invoke(
        "pipeline", "run-step", REF, "--step", "nope", "--pipeline-run", "manual__x"
    )
    assert got != 0 and "nope" in err


@pytest.mark.slow
def test_tune_reports_the_best_trial(demo: Path) -> None:
    pytest.importorskip("optuna")
    (demo / "space.yaml").write_text("scale: {type: float, low: 0.1, high: 2.0}\n")
    data = as_json(
        "tune",
        REF,
        "--space",
        "space.yaml",
        "--trials",
        "4",
        "--executor",
        "local",
        "--metric",
        "score",
        "--seed",
        "3",
        "-p",
        "n=5",
    )
    assert len(data["trials"]) == 4
    assert all(t["state"] == "COMPLETE" for t in data["trials"])
    best = data["best"]
    assert best["value"] == max(t["value"] for t in data["trials"])
    # total = 10 * scale, score = -|total - 10|
    assert best["value"] == pytest.approx(-abs(10 * best["params"]["scale"] - 10))
    text = ok(
        "tune",
        REF,
        "--space",
        "space.yaml",
        "--trials",
        "2",
        "--executor",
        "local",
        "--metric",
        "score",
        "--seed",
        "3",
    )
    assert "best: trial" in text and "score=" in text
    got, _, err = invoke("tune", REF, "--space", "space.yaml", "--executor", "gpu")
    assert got == 2 and "unknown executor 'gpu'" in err
