"""Pipeline runs and lineage on a real server: ``/api/v1/pipelines/...``.

A pipeline runs where its code is and records into the team's database; here the project uses
the server's own SQLite file and object store, as a team would share PostgreSQL and S3, and the
server shows what was recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import loopml
from loopml.tracking import context as tracking_context
from loopml.tracking import fluent
from tests.support.server import Server, running_server

pytest.importorskip("sklearn")

PIPELINE = """
import pandas as pd
from sklearn.linear_model import LogisticRegression

import loopml
from loopml.pipeline import pipeline, register_if, step


@step
def load(dataset: str) -> pd.DataFrame:
    return loopml.data.read_table(dataset)


@step
def train(df: pd.DataFrame, c: float = 1.0) -> LogisticRegression:
    return LogisticRegression(C=c).fit(df[["x"]], df["y"])


@step
def evaluate(model: LogisticRegression, df: pd.DataFrame, fail: bool = False) -> dict:
    if fail:
        raise RuntimeError("evaluation broke")
    return {"accuracy": float(model.score(df[["x"]], df["y"]))}


@pipeline
def tiny(dataset: str = "data:/points@latest", c: float = 1.0, fail: bool = False) -> None:
    df = load(dataset)
    model = train(df, c=c)
    metrics = evaluate(model, df, fail=fail)
    register_if(model, name="tiny", metrics=metrics, gate="metrics['accuracy'] >= 0.5")
"""


@pytest.fixture
def shared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    with running_server(tmp_path / "srv") as server:
        root = tmp_path / "client"
        root.mkdir()
        (root / "loopml.toml").write_text(
            f'[loopml]\ndb_url = "{server.db_url}"\nobject_store = "{server.objects}"\n'
        )
        (root / "tiny.py").write_text(PIPELINE)
        monkeypatch.chdir(root)
        loopml.configure(root)
        fluent._experiment = None
        yield server
        fluent._experiment = None
        if tracking_context._context is not None:
            tracking_context._context.close()
            tracking_context._context = None


def test_runs_steps_and_lineage_over_http(shared: Server) -> None:
    from loopml.pipeline import run_pipeline

    pd.DataFrame({"x": [float(i) for i in range(20)], "y": [i % 2 for i in range(20)]}).assign(
        y=lambda d: (d["x"] >= 10).astype(int)
    ).to_parquet("points.parquet", index=False)
    loopml.data.add("points.parquet", name="points")
    good = run_pipeline("tiny.py:tiny")
    assert good.status == "FINISHED" and good.registered == ["models:/tiny/1"], good.error
    bad = run_pipeline("tiny.py:tiny", {"fail": True, "c": 0.5})
    assert bad.status == "FAILED"

    with shared.client() as http:
        listed = http.get("/api/v1/pipelines/runs").json()["runs"]
        assert [r["id"] for r in listed] == [bad.id, good.id]
        assert [r["status"] for r in listed] == ["FAILED", "FINISHED"]
        assert listed[0]["steps"] == []  # steps only when asked
        with_steps = http.get("/api/v1/pipelines/runs", params={"steps": "true", "limit": 1})
        assert [s["name"] for s in with_steps.json()["runs"][0]["steps"]] == [
            "load",
            "train",
            "evaluate",
            "register",
        ]
        assert http.get("/api/v1/pipelines/runs", params={"pipeline": "other"}).json() == {
            "runs": []
        }

        run = http.get(f"/api/v1/pipelines/runs/{bad.id}").json()
        steps = {s["name"]: s for s in run["steps"]}
        assert steps["load"]["cache_hit"] and steps["train"]["status"] == "FINISHED"
        assert steps["evaluate"]["status"] == "FAILED"
        assert "evaluation broke" in steps["evaluate"]["error"]
        assert steps["register"]["status"] == "SKIPPED"
        assert run["params"] == {"dataset": "data:/points@latest", "c": 0.5, "fail": True}
        assert [n["name"] for n in run["graph"]["nodes"]] == [
            "load",
            "train",
            "evaluate",
            "register",
        ]
        assert any(e["src"] == "data:/points/1" for e in run["edges"])

        lineage = http.get("/api/v1/pipelines/lineage", params={"uri": "models:/tiny/1"})
        assert lineage.status_code == 200, lineage.text
        graph = lineage.json()
        assert graph["root"] == "models:/tiny/1" and graph["pipeline_run_id"] == good.id
        kinds = {n["id"]: n["kind"] for n in graph["nodes"]}
        assert kinds["data:/points/1"] == "dataset"
        assert kinds[f"step:{good.id}/train"] == "step"

        # bad input: 4xx with the error envelope, never a 500
        missing = http.get("/api/v1/pipelines/runs/0123456789abcdef0123456789abcdef")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "RESOURCE_NOT_FOUND"
        for params in ({"uri": "models:/nothing/1"}, {"uri": "models:/tiny/9"}):
            got = http.get("/api/v1/pipelines/lineage", params=params)
            assert got.status_code == 404, got.text
        # a malformed request is 422 (the server's rule for request validation), a bad URI 400
        bad_requests = [
            ("/api/v1/pipelines/lineage", {"uri": "not-a-uri"}, 400),
            ("/api/v1/pipelines/lineage", {}, 422),
            ("/api/v1/pipelines/runs", {"limit": 0}, 422),
            ("/api/v1/pipelines/runs/bad%20id", {}, 422),
        ]
        for path, params, status in bad_requests:
            got = http.get(path, params=params)
            assert got.status_code == status, (path, got.text)
            assert got.json()["error"]["code"] == "INVALID_PARAMETER"


def test_reads_need_a_token_when_auth_is_on(tmp_path: Path) -> None:
    with running_server(tmp_path / "srv", auth=True) as server:
        with server.client() as anonymous:
            assert anonymous.get("/api/v1/pipelines/runs").status_code == 401
        with server.client("viewer") as viewer:
            assert viewer.get("/api/v1/pipelines/runs").json() == {"runs": []}
