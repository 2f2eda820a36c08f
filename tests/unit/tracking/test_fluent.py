"""The fluent API a user types, against a real SQLite project."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import loopml
from loopml.errors import (
    AlreadyExistsError,
    InvalidParameterError,
    InvalidStateError,
    NotFoundError,
)
from loopml.store.metadata.entities import RunStatus


def test_the_readme_example(project: Path) -> None:
    import pandas as pd

    loopml.set_experiment("churn")
    (project / "confusion.png").write_bytes(b"\x89PNG fake")
    df = pd.DataFrame({"y": [0, 1, 1], "p": [0.1, 0.8, 0.6]})
    with loopml.start_run(run_name="rf-baseline") as run:
        loopml.log_params({"n_estimators": 200, "max_depth": 8})
        for epoch in range(100):
            loopml.log_metric("loss", 1 / (epoch + 1), step=epoch)
        loopml.log_artifact(project / "confusion.png")
        loopml.log_table(df, "predictions")
        loopml.set_tag("team", "growth")
    runs = loopml.search_runs(
        "churn",
        filter="metrics.loss < 0.1 and params.max_depth = '8'",
        order_by=["metrics.loss ASC"],
    )
    assert [r.run_id for r in runs] == [run.run_id]
    got = runs[0]
    assert got.status is RunStatus.FINISHED and got.end_ms is not None
    assert got.params == {"n_estimators": "200", "max_depth": "8"}
    assert got.metrics["loss"] == pytest.approx(0.01)
    assert got.tags["team"] == "growth"
    assert len(loopml.get_metric_history(run.run_id, "loss")) == 100
    frame = runs.to_pandas()
    assert frame.loc[0, "metrics.loss"] == pytest.approx(0.01)
    back = loopml.load_table(f"runs:/{run.run_id}/predictions")
    assert back.equals(df)


def test_provenance_is_captured(project: Path) -> None:
    with loopml.start_run() as run:
        pass
    tags = loopml.get_run(run.run_id).tags
    for key in ("loopml.python.version", "loopml.host", "loopml.user", "loopml.packages"):
        assert tags[key]
    assert '"loopml"' in tags["loopml.packages"]


def test_git_provenance(project: Path) -> None:
    import subprocess

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=project, check=True, capture_output=True)

    git("init", "-q")
    git("-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "--allow-empty", "-m", "x")
    (project / "tracked.txt").write_text("a")
    git("add", "tracked.txt")
    from loopml.tracking import provenance

    provenance._git_cache = None
    tags = provenance.git_info(project)
    assert len(tags["loopml.git.commit"]) == 40
    assert tags["loopml.git.dirty"] == "true"
    assert len(tags["loopml.git.diff_hash"]) == 64


def test_failed_block_marks_run_failed_with_message(project: Path) -> None:
    with pytest.raises(ZeroDivisionError), loopml.start_run() as run:
        loopml.log_metric("m", 1.0)
        _ = 1 / 0
    got = loopml.get_run(run.run_id)
    assert got.status is RunStatus.FAILED
    assert "ZeroDivisionError" in (got.status_message or "")
    assert got.metrics == {"m": 1.0}  # metrics queued before the failure were written


def test_nested_runs_and_resume(project: Path) -> None:
    with loopml.start_run(run_name="parent") as parent:
        with pytest.raises(InvalidStateError, match="nested=True"):
            loopml.start_run()
        with loopml.start_run(run_name="child", nested=True) as child:
            loopml.log_metric("c", 1.0)
    assert loopml.get_run(child.run_id).parent_run_id == parent.run_id
    with loopml.start_run(run_id=parent.run_id):
        loopml.log_metric("resumed", 2.0)
    got = loopml.get_run(parent.run_id)
    assert got.metrics == {"resumed": 2.0} and got.status is RunStatus.FINISHED


def test_special_values_round_trip(project: Path) -> None:
    with loopml.start_run() as run:
        loopml.log_metric("nan", float("nan"))
        loopml.log_metric("inf", float("inf"))
        loopml.log_metric("ninf", -math.inf)
        loopml.log_metric("np", np.float32(0.5))
    m = loopml.get_run(run.run_id).metrics
    assert (
        math.isnan(m["nan"]) and m["inf"] == math.inf and m["ninf"] == -math.inf and m["np"] == 0.5
    )


def test_bad_input_is_invalid_parameter(project: Path) -> None:
    with loopml.start_run():
        with pytest.raises(InvalidParameterError, match="must be a number"):
            loopml.log_metric("loss", "high")  # type: ignore[arg-type]
        with pytest.raises(InvalidParameterError):
            loopml.log_metric("", 1.0)
        with pytest.raises(InvalidParameterError):
            loopml.log_metric("loss", 1.0, step=1.5)  # type: ignore[arg-type]
        loopml.log_param("lr", 0.1)
        with pytest.raises(AlreadyExistsError, match=r"'0\.1'.*'0\.2'"):
            loopml.log_param("lr", 0.2)
        for bad in ("../escape.txt", "/etc/passwd", "a/../../b", "nul\x00byte"):
            with pytest.raises(InvalidParameterError):
                loopml.log_text("x", bad)
    with pytest.raises(InvalidStateError, match="no active run"):
        loopml.log_metric("loss", 1.0)
    with pytest.raises(NotFoundError):
        loopml.get_run("0" * 32)
    with pytest.raises(NotFoundError):
        loopml.TrackingClient().log_metric("f" * 32, "loss", 1.0)


def test_log_batch_numpy(project: Path) -> None:
    with loopml.start_run() as run:
        loopml.log_batch("curve", np.linspace(0, 1, 1000))
    history = loopml.get_metric_history(run.run_id, "curve")
    assert len(history) == 1000 and history[-1].value == 1.0 and history[-1].step == 999


def test_artifacts_of_every_kind(project: Path, tmp_path: Path) -> None:
    folder = tmp_path / "plots"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("a")
    (folder / "sub" / "b.txt").write_text("b")
    with loopml.start_run() as run:
        loopml.log_artifacts(folder)
        loopml.log_text("hello", "notes/readme.md")
        loopml.log_dict({"b": 1, "a": [1, 2]}, "config.json")
    client = loopml.TrackingClient()
    paths = [r.path for r in client.list_artifacts(run.run_id)]
    assert paths == ["config.json", "notes/readme.md", "plots"]
    inside = [r.path for r in client.list_artifacts(run.run_id, "plots")]
    assert inside == ["plots/a.txt", "plots/sub/b.txt"]
    out = client.download_artifacts(f"runs:/{run.run_id}/", tmp_path / "out")
    assert (out / "plots" / "sub" / "b.txt").read_text() == "b"
    assert (out / "notes" / "readme.md").read_text() == "hello"
    one = client.download_artifacts(f"runs:/{run.run_id}/plots/sub/b.txt", tmp_path / "one.txt")
    assert one.read_text() == "b"
    assert client.load_bytes(f"runs:/{run.run_id}/config.json").startswith(b"{")


def test_figure_artifact(project: Path) -> None:
    plt = pytest.importorskip("matplotlib.pyplot")
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    with loopml.start_run() as run:
        loopml.log_figure(fig, "roc")
    data = loopml.TrackingClient().load_bytes(f"runs:/{run.run_id}/roc.png")
    assert data.startswith(b"\x89PNG")
    plt.close(fig)


def test_deleted_experiment_must_be_restored(project: Path) -> None:
    exp = loopml.set_experiment("old")
    loopml.TrackingClient().ctx.metadata.delete_experiment(exp.experiment_id)
    with pytest.raises(InvalidStateError, match="restore"):
        loopml.set_experiment("old")


def test_log_dict_takes_numpy_keys_and_values(project: Path) -> None:
    with loopml.start_run() as run:
        loopml.log_dict({np.str_("class_a"): {"f1": np.float64(0.5)}, 3: [1, 2]}, "report.json")
    data = loopml.TrackingClient().load_bytes(f"runs:/{run.run_id}/report.json")
    assert b'"class_a"' in data and b'"3"' in data
