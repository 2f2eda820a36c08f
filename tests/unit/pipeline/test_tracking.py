"""Each pipeline run is a tracked run with a nested run per step: params, cache hit, outputs
as artifacts, captured logs, and the metrics a step logs or returns."""

from __future__ import annotations

import loopml
from loopml.pipeline import get_pipeline_run, list_pipeline_runs, run_pipeline

from .conftest import WritePipeline

SOURCE = """
import logging
import loopml

@step
def first(n: int) -> list:
    print("made", n)
    logging.getLogger("mine").warning("careful")
    loopml.log_metric("inside", 2.5)
    return list(range(n))

@step
def score(xs: list) -> dict:
    return {"mean": sum(xs) / len(xs), "count": len(xs)}

@pipeline
def p(n: int = 4):
    score(first(n))
"""


def test_runs_nested_runs_params_logs_and_metrics(write_pipeline: WritePipeline) -> None:
    pipe = write_pipeline(SOURCE)
    run = run_pipeline(pipe, {"n": 4}, experiment="pipes")
    assert run.status == "FINISHED", run.error
    parent = loopml.get_run(run.run_id)
    assert parent.params == {"n": "4"}
    assert parent.tags["loopml.pipeline.name"] == "p"
    assert str(parent.status) == "FINISHED" and parent.end_ms is not None
    child = loopml.get_run(run.steps["first"].run_id)
    assert child.parent_run_id == run.run_id
    assert child.params == {"n": "4"}
    assert child.tags["loopml.pipeline.cache_hit"] == "false"
    assert child.tags["loopml.pipeline.run_id"] == run.run_id
    assert child.metrics["inside"] == 2.5
    assert str(child.status) == "FINISHED"
    paths = {a.path for a in loopml.TrackingClient().list_artifacts(child.run_id)}
    assert paths == {"outputs/0.json", "logs.txt"}
    logs = loopml.TrackingClient().load_bytes(f"runs:/{child.run_id}/logs.txt").decode()
    assert "made 4" in logs and "careful" in logs
    scored = loopml.get_run(run.steps["score"].run_id)
    assert scored.metrics == {"mean": 1.5, "count": 4.0}

    again = run_pipeline(pipe, {"n": 4}, experiment="pipes")
    cached = loopml.get_run(again.steps["first"].run_id)
    assert cached.run_id != child.run_id
    assert cached.tags["loopml.pipeline.cache_hit"] == "true"
    assert cached.tags["loopml.pipeline.cached_from"] == child.run_id
    assert cached.params == {"n": "4"}
    assert {a.path for a in loopml.TrackingClient().list_artifacts(cached.run_id)} == {
        "outputs/0.json"
    }
    found = loopml.search_runs("pipes", filter=f"tags.loopml.pipeline.run_id = '{again.id}'")
    assert len(found) == 2


def test_get_and_list_pipeline_runs(write_pipeline: WritePipeline) -> None:
    pipe = write_pipeline(SOURCE)
    a = run_pipeline(pipe, {"n": 2})
    b = run_pipeline(pipe, {"n": 3})
    runs = list_pipeline_runs()
    assert [r.id for r in runs] == [b.id, a.id]
    assert list_pipeline_runs("nope") == []
    assert [r.id for r in list_pipeline_runs("p", limit=1)] == [b.id]
    got = get_pipeline_run(a.id)
    assert got.params == {"n": 2}
    assert list(got.steps) == ["first", "score"]
    assert got.steps["score"].upstream == ["first"]
    assert got.output("score") == {"mean": 0.5, "count": 2}
    assert got.to_dict()["steps"][0]["name"] == "first"
    assert got.graph["nodes"][1]["upstream"] == ["first"]


def test_pipeline_called_directly_and_nested_in_an_active_run(
    write_pipeline: WritePipeline,
) -> None:
    pipe = write_pipeline(SOURCE)
    with loopml.start_run() as outer:
        run = pipe(n=3)
    assert run.status == "FINISHED"
    assert loopml.get_run(run.run_id).parent_run_id == outer.run_id
