"""Caching: identical re-runs hit, and a change to params, code or data re-runs exactly the
steps downstream of it; explain_cache names the component that changed."""

from __future__ import annotations

from pathlib import Path

import loopml.data
from loopml.pipeline import explain_cache, run_pipeline

from .conftest import WritePipeline, statuses

SOURCE = """
@step
def ingest(dataset: str) -> str:
    import loopml.data
    version = loopml.data.resolve(dataset)
    return f"{version.uri} {version.manifest_hash}"

@step
def prepare(raw: str, factor: int = 1) -> list[str]:
    return [raw] * factor

@step
def other(k: int) -> int:
    return k + 1

@step
def combine(xs: list[str], y: int) -> dict:
    return {"total": float(len(xs) + y), "first": xs[0]}

@pipeline
def p(dataset: str = "data:/customers@latest", factor: int = 1, k: int = 1):
    combine(prepare(ingest(dataset), factor=factor), other(k))
"""


def _dataset(project: Path, content: str) -> None:
    file = project / "customers.csv"
    file.write_text(content)
    loopml.data.add(file, "customers", progress=False)


def test_identical_rerun_is_all_cache_hits(write_pipeline: WritePipeline, project: Path) -> None:
    _dataset(project, "a,b\n1,2\n")
    pipe = write_pipeline(SOURCE)
    first = run_pipeline(pipe)
    assert first.status == "FINISHED", first.error
    assert set(statuses(first).values()) == {"FINISHED"}
    second = run_pipeline(pipe)
    assert statuses(second) == dict.fromkeys(second.steps, "CACHED")
    assert all(s.cache_hit for s in second.steps.values())
    assert second.output("combine") == first.output("combine")
    for name in first.steps:
        assert first.steps[name].cache_key == second.steps[name].cache_key
    explained = explain_cache(second.id, "combine")
    assert explained.cache_hit and "hit the cache" in explained.summary


def test_param_change_reruns_exactly_downstream(
    write_pipeline: WritePipeline, project: Path
) -> None:
    _dataset(project, "a,b\n1,2\n")
    pipe = write_pipeline(SOURCE)
    before = run_pipeline(pipe)
    run = run_pipeline(pipe, {"factor": 3})
    assert statuses(run) == {
        "ingest": "CACHED",
        "prepare": "FINISHED",
        "other": "CACHED",
        "combine": "FINISHED",
    }
    why = explain_cache(run.id, "prepare")
    changed = {c.name: c for c in why.components}
    assert changed["params"].changed and not changed["code"].changed
    assert "factor: 1 -> 3" in why.summary
    assert why.previous_run_id == before.id
    inputs = explain_cache(run.id, "combine").components[2]
    assert inputs.name == "inputs" and inputs.changed
    assert len(inputs.details) == 1 and inputs.details[0].startswith("xs: ")
    assert inputs.details[0].endswith("(output of 'prepare')")


def test_code_change_reruns_the_step_and_downstream_only(
    write_pipeline: WritePipeline, project: Path
) -> None:
    _dataset(project, "a,b\n1,2\n")
    run_pipeline(write_pipeline(SOURCE))
    # a comment and a docstring change nothing; a changed expression does
    cosmetic = SOURCE.replace(
        "def other(k: int) -> int:", 'def other(k: int) -> int:\n    """Doc."""  # c'
    )
    assert set(statuses(run_pipeline(write_pipeline(cosmetic))).values()) == {"CACHED"}
    changed = SOURCE.replace("return k + 1", "return k + 2")
    run = run_pipeline(write_pipeline(changed))
    assert statuses(run) == {
        "ingest": "CACHED",
        "prepare": "CACHED",
        "other": "FINISHED",
        "combine": "FINISHED",
    }
    why = explain_cache(run.id, "other")
    assert [c.name for c in why.components if c.changed] == ["code"]
    assert "code changed" in why.summary


def test_project_local_helper_is_part_of_the_key(
    write_pipeline: WritePipeline, project: Path
) -> None:
    source = """
    def helper(x):
        return x * 2

    @step
    def use(x: int) -> int:
        return helper(x)

    @pipeline
    def p(x: int = 1):
        use(x)
    """
    run_pipeline(write_pipeline(source))
    run = run_pipeline(write_pipeline(source.replace("x * 2", "x * 3")))
    assert statuses(run) == {"use": "FINISHED"}
    assert run.output("use") == 3


def test_new_data_version_invalidates_exactly_downstream(
    write_pipeline: WritePipeline, project: Path
) -> None:
    _dataset(project, "a,b\n1,2\n")
    pipe = write_pipeline(SOURCE)
    first = run_pipeline(pipe)
    assert first.output("ingest").startswith("data:/customers/1 ")
    _dataset(project, "a,b\n1,2\n3,4\n")
    run = run_pipeline(pipe)
    assert statuses(run) == {
        "ingest": "FINISHED",
        "prepare": "FINISHED",
        "other": "CACHED",
        "combine": "FINISHED",
    }
    assert run.output("ingest").startswith("data:/customers/2 ")
    why = explain_cache(run.id, "ingest")
    params = next(c for c in why.components if c.name == "params")
    assert params.changed and any("customers/2" in d for d in params.details)


def test_cache_off_per_run_and_per_step(write_pipeline: WritePipeline, project: Path) -> None:
    source = """
    @step(cache=False)
    def always(x: int) -> int:
        return x

    @step
    def sometimes(x: int) -> int:
        return x + 1

    @pipeline
    def p(x: int = 1):
        sometimes(always(x))
    """
    pipe = write_pipeline(source)
    run_pipeline(pipe)
    again = run_pipeline(pipe)
    # the uncached step produces the same content, so its consumer still hits
    assert statuses(again) == {"always": "FINISHED", "sometimes": "CACHED"}
    off = run_pipeline(pipe, cache=False)
    assert statuses(off) == {"always": "FINISHED", "sometimes": "FINISHED"}
    assert "cache was off" in explain_cache(off.id, "sometimes").summary


def test_first_run_explains_itself(write_pipeline: WritePipeline, project: Path) -> None:
    _dataset(project, "a\n1\n")
    run = run_pipeline(write_pipeline(SOURCE))
    why = explain_cache(run.id, "prepare")
    assert not why.cache_hit and why.previous_run_id is None
    assert "no earlier run" in why.summary
    assert why.to_dict()["components"][0]["name"] == "code"
