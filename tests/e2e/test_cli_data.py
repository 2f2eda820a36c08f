"""``loopml data``: the DVC-style workflow from the command line, its --json, and bad input."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pandas as pd
from typer.testing import CliRunner

import loopml
from loopml.cli.main import app

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


def _table(path: Path, rows: int, extra: bool = False) -> None:
    df = pd.DataFrame({"id": range(rows), "amount": [i * 2.0 for i in range(rows)]})
    if extra:
        df["country"] = "fr"
    df.to_parquet(path, index=False)
    old = path.stat().st_mtime - 10
    os.utime(path, (old, old))


def test_version_diff_checkout_status_workflow(project: Path, tmp_path: Path) -> None:
    _table(project / "customers.parquet", 10)
    out = ok("data", "add", "customers.parquet", "--name", "customers", "-m", "October export")
    assert "customers@1" in out and "10 rows x 2 cols" in out
    assert "no new version" in ok("data", "add", "customers.parquet", "--name", "customers")
    _table(project / "customers.parquet", 15, extra=True)
    added = as_json("data", "add", "customers.parquet", "-n", "customers", "-m", "November")
    assert isinstance(added, dict) and added["version"] == 2 and added["created"] is True

    listed = as_json("data", "list")
    assert listed == [
        {
            "name": "customers",
            "latest_version": 2,
            "versions": 2,
            "size": added["size"],
            "updated_ms": added["created_ms"],
        }
    ]
    log = ok("data", "log", "customers")
    assert "@2" in log and "@1" in log and "October export" in log
    shown = as_json("data", "show", "customers@1")
    assert isinstance(shown, dict) and shown["num_rows"] == 10 and shown["used_by"] == []
    assert "country" in ok("data", "show", "data:/customers@latest")

    diff = as_json("data", "diff", "customers@1", "customers@2")
    assert isinstance(diff, dict)
    assert diff["files"]["modified"] == ["customers.parquet"]
    assert diff["table"]["rows"] == [10, 15] and diff["table"]["columns_added"] == ["country"]
    assert "10 -> 15" in ok("data", "diff", "customers@1", "customers@2")

    assert "unchanged" in ok("data", "status")
    _table(project / "customers.parquet", 3)
    code, out = invoke("data", "status")
    assert code == 1 and "modified" in out
    code, out = invoke("data", "checkout", "customers@1")
    assert code == 1 and "--force" in out
    ok("data", "checkout", "customers@1", "--force")
    assert len(pd.read_parquet(project / "customers.parquet")) == 10
    report = as_json("data", "checkout", "customers@2", tmp_path / "work")
    assert isinstance(report, dict) and report["written"] == 1
    assert len(pd.read_parquet(tmp_path / "work" / "customers.parquet")) == 15

    remote = tmp_path / "remote"
    pushed = as_json("data", "push", "--remote", remote)
    assert isinstance(pushed, dict) and pushed["moved"] == 4
    assert "0 object(s)" in ok("data", "push", "--remote", remote)
    pulled = as_json("data", "pull", "customers@1", "--remote", remote)
    assert isinstance(pulled, dict) and pulled["moved"] == 0
    gc = as_json("data", "gc", "--dry-run")
    assert isinstance(gc, dict) and gc["objects_removed"] == 0


def test_inputs_of_a_run(project: Path) -> None:
    _table(project / "train.parquet", 5)
    ok("data", "add", "train.parquet")
    with loopml.start_run() as run:
        loopml.log_input("data:/train@latest")
    assert "data:/train/1" in ok("data", "inputs", run.run_id)
    shown = as_json("data", "show", "train@1")
    assert isinstance(shown, dict) and shown["used_by"][0]["run_id"] == run.run_id


def test_bad_input_gives_a_message_not_a_traceback(project: Path) -> None:
    code, out = invoke("data", "add", "nowhere.csv")
    assert code == 1 and "nowhere.csv" in out and "no such file" in out
    (project / "bad.parquet").write_bytes(b"not parquet at all")
    code, out = invoke("data", "add", "bad.parquet")
    assert code == 2 and "bad.parquet is not a readable Parquet file" in out
    code, out = invoke("data", "show", "ghost@1")
    assert code == 1 and "no dataset named 'ghost'" in out
    code, out = invoke("data", "diff", "not a ref", "x")
    assert code == 2 and "not a dataset version" in out
    code, out = invoke("data", "push")
    assert code == 2 and "no data remote configured" in out
    code, out = invoke("data", "checkout", "x@1", "--link", "teleport")
    assert code in (1, 2)
    assert "No datasets yet" in ok("data", "list")
    assert "No tracked paths" in ok("data", "status")


def test_versioning_examples_in_the_docs_run(project: Path) -> None:
    import re

    page = (Path(__file__).resolve().parents[2] / "docs" / "data.md").read_text()
    versioning = page.split("## Performance", 1)[0]  # later sections belong to their owners
    blocks = re.findall(r"```python\n(.*?)```", versioning, re.DOTALL)
    assert blocks
    namespace: dict[str, object] = {}
    for code in blocks:
        exec(compile(code, "docs/data.md", "exec"), namespace)


def test_runs_show_lists_the_datasets_a_run_used(project: Path) -> None:
    from typer.testing import CliRunner

    import loopml
    from loopml.cli.main import app

    (project / "d.csv").write_text("a,b\n1,2\n")
    version = loopml.data.add(project / "d.csv", name="inputs-demo")
    with loopml.start_run() as run:
        loopml.log_input(version, context="training")
    out = CliRunner().invoke(app, ["runs", "show", run.run_id, "--json"])
    assert out.exit_code == 0, out.output
    assert '"inputs-demo"' in out.output and '"training"' in out.output
