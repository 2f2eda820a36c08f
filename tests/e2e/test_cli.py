"""The ``loopml`` command against real projects: every group, its --json, and bad input."""

from __future__ import annotations

import os
import stat
import sys
import time
import tomllib
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

import loopml
from loopml.cli.main import app
from loopml.tracking.context import get_context

runner = CliRunner()


def invoke(*args: str | os.PathLike[str]) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def ok(*args: str | os.PathLike[str]) -> str:
    code, output = invoke(*args)
    assert code == 0, output
    return output


def as_json(*args: str | os.PathLike[str]) -> object:
    result = runner.invoke(app, [str(a) for a in (*args, "--json")])
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout)


def make_runs(project: Path) -> list[str]:
    """Three finished runs in experiment 'exp': final loss 0.9, 0.3, 0.5."""
    loopml.set_experiment("exp")
    ids = []
    for i, (lr, loss) in enumerate([(0.1, 0.9), (0.01, 0.3), (0.001, 0.5)]):
        with loopml.start_run(run_name=f"run-{i}") as run:
            loopml.log_params({"lr": lr, "model": "mlp"})
            for step in range(3):
                loopml.log_metric("loss", loss + (2 - step) * 0.1, step=step)
            loopml.log_metric("accuracy", 1 - loss)
            loopml.set_tag("team", "growth")
        ids.append(run.run_id)
    return ids


# -- top level ------------------------------------------------------------------------------
def test_version_and_help() -> None:
    assert ok("--version").strip() == f"loopml {loopml.__version__}"
    out = ok("--help")
    for group in ("init", "experiments", "runs", "artifacts", "db", "gc", "quickstart"):
        assert group in out


def test_init_creates_a_project_once(project: Path) -> None:
    target = project.parent / "fresh"
    target.mkdir()
    (target / ".gitignore").write_text("__pycache__/")
    out = ok("init", target)
    assert "Initialised" in out
    settings = tomllib.loads((target / "loopml.toml").read_text())
    assert settings == {"loopml": {}}  # every default is commented out
    assert (target / ".loopml").is_dir()
    assert (target / ".gitignore").read_text().splitlines()[-1] == ".loopml/"

    out = ok("init", target)
    assert "already initialised" in out
    assert (target / ".gitignore").read_text().count(".loopml/") == 1

    # init with the global -C creates the folder too
    other = project.parent / "other"
    ok("-C", other, "init")
    assert (other / "loopml.toml").is_file()
    assert not (other / ".gitignore").exists()


def test_project_option_before_or_after_the_command(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = make_runs(project)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    for args in (["-C", project, "runs", "list"], ["runs", "list", "-C", project]):
        body = as_json(*args)
        assert isinstance(body, dict)
        assert sorted(r["run_id"] for r in body["runs"]) == sorted(ids)
    code, out = invoke("runs", "list", "-C", tmp_path / "missing")
    assert code == 2 and "does not exist" in out


# -- experiments ----------------------------------------------------------------------------
def test_experiments_lifecycle(project: Path) -> None:
    assert "Created experiment" in ok("experiments", "create", "churn")
    names = [e["name"] for e in as_json("experiments", "list")]  # type: ignore[union-attr,index]
    assert names == ["churn"]

    code, out = invoke("experiments", "create", "churn")
    assert code == 1 and "already exists" in out

    ok("experiments", "rename", "churn", "churn-v2")
    assert "churn-v2" in ok("experiments", "list")

    ok("experiments", "delete", "churn-v2")
    assert as_json("experiments", "list") == []
    listed = as_json("experiments", "list", "--all")
    assert [(e["name"], e["lifecycle_stage"]) for e in listed] == [("churn-v2", "deleted")]  # type: ignore[index,union-attr]

    ok("experiments", "restore", "churn-v2")
    assert [e["name"] for e in as_json("experiments", "list")] == ["churn-v2"]  # type: ignore[union-attr,index]

    code, out = invoke("experiments", "delete", "nope")
    assert code == 1 and "error: no experiment" in out


# -- runs -----------------------------------------------------------------------------------
def test_runs_list_filter_order_and_json(project: Path) -> None:
    ids = make_runs(project)
    table = ok("runs", "list")
    for run_id in ids:
        assert run_id[:8] in table
    assert "loss" in table and "FINISHED" in table

    body = as_json("runs", "list", "-f", "metrics.loss < 0.8", "-o", "metrics.loss ASC")
    assert isinstance(body, dict)
    assert [r["run_id"] for r in body["runs"]] == [ids[1], ids[2]]
    assert body["runs"][0]["metrics"]["loss"] == pytest.approx(0.3)
    assert body["runs"][0]["experiment_name"] == "exp"
    assert body["next_page_token"] is None

    body = as_json("runs", "list", "-e", "exp", "-f", "params.lr = '0.1'")
    assert [r["run_id"] for r in body["runs"]] == [ids[0]]  # type: ignore[index]

    first = as_json("runs", "list", "--max-results", "2", "-o", "metrics.loss DESC")
    assert isinstance(first, dict) and first["next_page_token"]
    second = as_json(
        "runs",
        "list",
        "-n",
        "2",
        "-o",
        "metrics.loss DESC",
        "--page-token",
        first["next_page_token"],
    )
    got = [r["run_id"] for r in first["runs"] + second["runs"]]  # type: ignore[index,operator]
    assert got == [ids[0], ids[2], ids[1]]

    assert "No runs match" in ok("runs", "list", "-f", "metrics.loss > 5")
    code, out = invoke("runs", "list", "-e", "no-such-experiment")
    assert code == 1 and "no experiment" in out


def test_runs_show(project: Path) -> None:
    ids = make_runs(project)
    (project / "notes.txt").write_text("hello")
    with loopml.start_run(run_id=ids[1]):
        loopml.log_artifact(project / "notes.txt")
    out = ok("runs", "show", ids[1])
    for text in (ids[1], "run-1", "exp", "FINISHED", "lr", "0.01", "loss", "0.3", "team"):
        assert text in out
    assert "python" in out and "host" in out and "notes.txt" in out

    # a unique prefix is enough
    assert ids[1] in ok("runs", "show", ids[1][:8])

    body = as_json("runs", "show", ids[1])
    assert isinstance(body, dict)
    assert body["run_id"] == ids[1]
    assert body["params"] == {"lr": "0.01", "model": "mlp"}
    assert body["tags"]["loopml.python.version"]
    assert [a["path"] for a in body["artifacts"]] == ["notes.txt"]
    assert len(body["artifacts"][0]["hash"]) == 64


def test_runs_compare(project: Path) -> None:
    ids = make_runs(project)
    out = ok("runs", "compare", ids[0], ids[1], ids[2][:10])
    assert "★" in out and "params.lr" in out and "metrics.loss" in out

    body = as_json("runs", "compare", *ids)
    assert isinstance(body, dict)
    assert body["best"]["loss"] == [ids[1]]  # lower is better
    assert body["best"]["accuracy"] == [ids[1]]  # higher is better
    assert body["lower_is_better"] == {"accuracy": False, "loss": True}
    assert "params.lr" in body["differs"] and "params.model" not in body["differs"]
    assert body["metrics"]["loss"][ids[0]] == pytest.approx(0.9)

    code, out = invoke("runs", "compare", ids[0])
    assert code == 2 and "at least two" in out


def test_runs_delete_and_restore(project: Path) -> None:
    ids = make_runs(project)
    assert "Deleted run" in ok("runs", "delete", ids[0])
    listed = as_json("runs", "list")
    assert ids[0] not in [r["run_id"] for r in listed["runs"]]  # type: ignore[index]
    listed = as_json("runs", "list", "--all")
    assert ids[0] in [r["run_id"] for r in listed["runs"]]  # type: ignore[index]
    ok("runs", "restore", ids[0])
    assert ids[0] in [r["run_id"] for r in as_json("runs", "list")["runs"]]  # type: ignore[index]


# -- artifacts ------------------------------------------------------------------------------
def test_artifacts_ls_and_get(project: Path, tmp_path: Path) -> None:
    folder = project / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"\x00" * 2048)
    (folder / "sub" / "config.json").write_text('{"layers": 3}')
    (project / "report.txt").write_text("all good")
    with loopml.start_run() as run:
        loopml.log_artifacts(folder, "model")
        loopml.log_artifact(project / "report.txt", "docs")
    rid = run.run_id

    out = ok("artifacts", "ls", f"runs:/{rid}/")
    assert "model" in out and "docs/report.txt" in out and "dir" in out and "2.0 KiB" in out

    listed = as_json("artifacts", "ls", f"runs:/{rid}/model")
    assert isinstance(listed, list)
    assert sorted(a["path"] for a in listed) == ["model/sub/config.json", "model/weights.bin"]
    assert all(len(a["hash"]) == 64 for a in listed)
    assert as_json("artifacts", "ls", rid[:8]) == as_json("artifacts", "ls", f"runs:/{rid}")

    dest = tmp_path / "out"
    dest.mkdir()
    ok("artifacts", "get", f"runs:/{rid}/docs/report.txt", dest)
    assert (dest / "report.txt").read_text() == "all good"
    ok("artifacts", "get", f"runs:/{rid}/model", tmp_path / "model-copy")
    assert (tmp_path / "model-copy" / "sub" / "config.json").read_text() == '{"layers": 3}'
    ok("artifacts", "get", f"runs:/{rid}/model/weights.bin", tmp_path / "w.bin")
    assert (tmp_path / "w.bin").stat().st_size == 2048

    code, out = invoke("artifacts", "get", f"runs:/{rid}/nope.txt", dest)
    assert code == 1 and "has no artifact" in out
    code, out = invoke("artifacts", "ls", "models:/m/1")
    assert code == 2 and "runs:/" in out


# -- db -------------------------------------------------------------------------------------
def test_db_current_and_upgrade(project: Path) -> None:
    fresh = project.parent / "fresh-db"
    ok("init", fresh)
    body = as_json("db", "current", "-C", fresh)
    assert body == {
        "url": f"sqlite:///{fresh.resolve() / '.loopml' / 'loopml.db'}",
        "current": [],
        "heads": body["heads"],  # type: ignore[index]
        "up_to_date": False,
    }
    from loopml.store.metadata.migrate import heads

    assert body["heads"] == sorted(heads()) != []  # type: ignore[index]
    assert "loopml db upgrade" in ok("db", "current", "-C", fresh)
    assert "upgraded: empty → " in ok("db", "upgrade", "-C", fresh)
    assert "already up to date" in ok("db", "upgrade", "-C", fresh)
    assert "(head, up to date)" in ok("db", "current", "-C", fresh)
    body = as_json("db", "current", "-C", fresh)
    assert body["up_to_date"] and body["current"] == body["heads"]  # type: ignore[index]


# -- gc -------------------------------------------------------------------------------------
def test_gc_purges_deleted_runs_and_their_objects(project: Path) -> None:
    with loopml.start_run() as keep:
        loopml.log_text("kept", "keep.txt")
    with loopml.start_run() as doomed:
        loopml.log_text("doomed", "doomed.txt")
    ok("runs", "delete", doomed.run_id)
    time.sleep(0.01)

    dry = as_json("gc", "--dry-run", "--older-than", "0s", "--grace", "0s")
    assert dry == {
        "dry_run": True,
        "purge_before_ms": dry["purge_before_ms"],  # type: ignore[index]
        "runs_soft_deleted": 1,
        "runs_purged": 0,
        "objects_removed": 0,
        "bytes_removed": 0,
        "temp_files_removed": 0,
        "objects_kept": 2,
    }
    # the default window keeps a run deleted a moment ago
    assert as_json("gc")["runs_purged"] == 0  # type: ignore[index]

    out = ok("gc", "--older-than", "0s", "--grace", "0s")
    assert "runs purged" in out
    code, out = invoke("runs", "show", doomed.run_id)
    assert code == 1 and "no run" in out
    report = as_json("gc", "--older-than", "0s", "--grace", "0s", "--verify")
    assert report["objects_kept"] == 1 and report["corrupt"] == []  # type: ignore[index]
    assert (
        get_context().objects.get_bytes(
            as_json("runs", "show", keep.run_id)["artifacts"][0]["hash"]  # type: ignore[index]
        )
        == b"kept"
    )

    code, out = invoke("gc", "--older-than", "soon")
    assert code == 2 and "not a duration" in out


def test_gc_verify_reports_corrupt_objects(project: Path) -> None:
    with loopml.start_run() as run:
        loopml.log_text("precious bytes", "data.txt")
    digest = as_json("runs", "show", run.run_id)["artifacts"][0]["hash"]  # type: ignore[index]
    store_root = Path(get_context().objects.url)
    path = store_root / "objects" / digest[:2] / digest[2:]
    assert path.is_file()
    path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    path.write_bytes(b"bit rot")

    assert invoke("gc", "--dry-run")[0] == 0  # only --verify re-hashes
    code, out = invoke("gc", "--dry-run", "--verify")
    assert code == 1
    assert digest in out and "corrupt" in out.lower()
    result = runner.invoke(app, ["gc", "--dry-run", "--verify", "--json"])
    assert result.exit_code == 1
    assert orjson.loads(result.stdout)["corrupt"] == [digest]


# -- errors ---------------------------------------------------------------------------------
def test_bad_input_is_an_error_message_not_a_traceback(project: Path) -> None:
    make_runs(project)
    code, out = invoke("runs", "show", "0123456789abcdef0123456789abcdef")
    assert code == 1 and "error: no run" in out

    code, out = invoke("runs", "list", "-f", "metrics.loss >> 3")
    assert code == 2 and "error:" in out and "^" in out

    code, out = invoke("artifacts", "get", "runs:/x/../etc", project / "dest")
    assert code == 2 and ".." in out
    assert not (project / "dest").exists()

    code, out = invoke("runs", "list", "--max-results", "0")  # a Typer usage error
    assert code == 2 and "Usage" in out


def test_unexpected_errors_hide_the_traceback_unless_debugging(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loopml.tracking.client import TrackingClient

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(TrackingClient, "search_runs", boom)
    code, out = invoke("runs", "list")
    assert code == 1
    assert "unexpected RuntimeError: disk on fire" in out and "LOOPML_DEBUG=1" in out

    monkeypatch.setenv("LOOPML_DEBUG", "1")
    result = runner.invoke(app, ["runs", "list"])
    assert isinstance(result.exception, RuntimeError)


# -- the real executable --------------------------------------------------------------------
def test_the_real_command_in_a_subprocess(tmp_path: Path) -> None:
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    env["COLUMNS"] = "200"
    cmd = [sys.executable, "-c", "from loopml.cli.main import run; run()"]

    def loopml_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*cmd, *map(str, args)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    proj = tmp_path / "p"
    assert loopml_cli("init", proj).returncode == 0
    assert loopml_cli("-C", proj, "experiments", "create", "exp").returncode == 0
    listed = loopml_cli("experiments", "list", "-C", proj, "--json")
    assert listed.returncode == 0, listed.stderr
    assert [e["name"] for e in orjson.loads(listed.stdout)] == ["exp"]

    missing = loopml_cli("runs", "show", "-C", proj, "feedfacefeedfacefeedfacefeedface")
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: no run") and "Traceback" not in missing.stderr
    assert missing.stdout == ""

    bad = loopml_cli("runs", "list", "-C", proj, "--filter", "params.x = ")
    assert bad.returncode == 2 and "^" in bad.stderr and "Traceback" not in bad.stderr
