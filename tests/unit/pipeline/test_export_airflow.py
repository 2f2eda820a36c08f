"""The Airflow export: generate the DAG file, read it back with ``ast`` (no Airflow here), and
run the commands it holds in dependency order, as Airflow would."""

from __future__ import annotations

import ast
import os
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import loopml
from loopml.errors import InvalidParameterError, InvalidStateError, NotFoundError, StepFailedError
from loopml.pipeline import get_pipeline_run, run_pipeline
from loopml.pipeline.export.airflow import export_airflow
from loopml.pipeline.export.run_step import EXTERNAL_TAG, run_step
from loopml.pipeline.params import parse_cli_params

AIRFLOW_RUN = "manual__2024-05-01T10:00:00.123456+00:00"

LIGHT = textwrap.dedent(
    """
    from loopml.pipeline import pipeline, step

    @step
    def load(n: int) -> dict:
        return {"xs": list(range(n))}

    @step
    def left(data: dict) -> dict:
        return {"v": sum(data["xs"])}

    @step
    def right(data: dict, k: int = 2) -> dict:
        return {"v": len(data["xs"]) * k}

    @step
    def join(a: dict, b: dict) -> dict:
        if a["v"] < 0:
            raise ValueError("negative")
        return {"total": a["v"] + b["v"]}

    @pipeline
    def diamond(n: int = 4, k: int = 2, label: str = "x y"):
        data = load(n)
        join(left(data), right(data, k=k))
    """
)

MODEL = textwrap.dedent(
    """
    from loopml.pipeline import pipeline, register_if, step

    @step
    def ingest(n: int) -> dict:
        xs = [[float(i % 7), float(i % 3)] for i in range(n)]
        return {"x": xs, "y": [int(r[0] > 3) for r in xs]}

    @step
    def train(data: dict, c: float = 1.0):
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=c).fit(data["x"], data["y"])

    @step
    def evaluate(model, data: dict) -> dict:
        return {"acc": float(model.score(data["x"], data["y"]))}

    @pipeline
    def churn(n: int = 40, c: float = 1.0):
        data = ingest(n)
        model = train(data, c=c)
        register_if(model, name="churn", metrics=evaluate(model, data), gate="metrics['acc'] > 0.5")
    """
)


def _dag(path: Path) -> tuple[dict[str, dict[str, Any]], list[tuple[str, str]]]:
    """Tasks (task_id -> keyword values) and edges (upstream, downstream) of a DAG file."""
    tree = ast.parse(path.read_text())
    tasks: dict[str, dict[str, Any]] = {}
    var_to_task: dict[str, str] = {}
    edges: list[tuple[str, str]] = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and getattr(node.value.func, "id", None) == "BashOperator"
        ):
            kwargs = {
                k.arg: (k.value.id if isinstance(k.value, ast.Name) else ast.literal_eval(k.value))
                for k in node.value.keywords
            }
            tasks[kwargs["task_id"]] = kwargs
            var_to_task[node.targets[0].id] = kwargs["task_id"]  # type: ignore[attr-defined]
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.BinOp):
            assert isinstance(node.value.op, ast.RShift)
            up, down = node.value.left, node.value.right
            edges.append((var_to_task[up.id], var_to_task[down.id]))  # type: ignore[attr-defined]
    return tasks, edges


def _order(tasks: dict[str, Any], edges: list[tuple[str, str]]) -> list[str]:
    order: list[str] = []
    while len(order) < len(tasks):
        ready = [t for t in tasks if t not in order and all(u in order for u, d in edges if d == t)]
        assert ready, "the DAG has a cycle"
        order.extend(ready)
    return order


def _argv(command: str, run_id: str) -> list[str]:
    return shlex.split(command.replace("{{ run_id }}", run_id))


def _call(argv: list[str]) -> Any:
    """What `loopml pipeline run-step` does with its arguments."""
    assert argv[:3] == ["loopml", "pipeline", "run-step"]
    ref, rest = argv[3], argv[4:]
    opts: dict[str, Any] = {"-p": []}
    while rest:
        flag, value, rest = rest[0], rest[1], rest[2:]
        if flag == "-p":
            opts["-p"].append(value)
        else:
            opts[flag] = value
    return run_step(
        ref,
        opts["--step"],
        pipeline_run=opts["--pipeline-run"],
        params=parse_cli_params(opts["-p"]),
    )


def _pipeline_run_of(external: str) -> Any:
    runs = loopml.search_runs(filter=f"tags.`{EXTERNAL_TAG}` = '{external}'")
    assert len(runs) == 1
    return get_pipeline_run(runs[0].run_id)


def test_the_dag_mirrors_the_graph_and_its_commands_run_the_pipeline(project: Path) -> None:
    (project / "flows.py").write_text(LIGHT)
    path = export_airflow(
        "flows.py:diamond", project / "dags", params={"n": 5, "label": "a b'c"}, schedule="@daily"
    )
    assert path == project / "dags" / "loopml_diamond.py"
    text = path.read_text()
    assert "schedule='@daily'" in text and "dag_id='loopml_diamond'" in text
    tasks, edges = _dag(path)
    assert set(tasks) == {"load", "left", "right", "join"}
    assert sorted(edges) == sorted(
        [("load", "left"), ("load", "right"), ("left", "join"), ("right", "join")]
    )
    assert {t["cwd"] for t in tasks.values()} == {"PROJECT"}
    first = tasks["load"]["bash_command"]
    assert "--pipeline-run '{{ run_id }}'" in first
    argv = _argv(first, AIRFLOW_RUN)
    assert argv[3] == f"{project / 'flows.py'}:diamond"
    assert argv[-4:] == ["-p", "n=5", "-p", "label=a b'c"]  # quoting survives the shell

    # a step whose upstream has not run fails clearly, before anything runs
    with pytest.raises(InvalidStateError, match="needs the output of step 'load'"):
        _call(_argv(tasks["left"]["bash_command"], AIRFLOW_RUN))

    for task in _order(tasks, edges):
        step_run = _call(_argv(tasks[task]["bash_command"], AIRFLOW_RUN))
        assert step_run.name == task and step_run.status == "FINISHED"
    run = _pipeline_run_of(AIRFLOW_RUN)
    assert run.status == "FINISHED"
    assert run.params == {"n": 5, "k": 2, "label": "a b'c"}
    assert run.output("join") == {"total": 10 + 10}
    assert all(s.run_id for s in run.steps.values())  # every step is a nested tracked run
    assert loopml.get_run(run.steps["join"].run_id or "").parent_run_id == run.run_id

    # an Airflow retry of a finished task reuses its output
    again = _call(_argv(tasks["join"]["bash_command"], AIRFLOW_RUN))
    assert again.status == "FINISHED"
    assert _pipeline_run_of(AIRFLOW_RUN).status == "FINISHED"

    # the steps were keyed as `loopml pipeline run` keys them: a plain run is all cache hits
    plain = run_pipeline("flows.py:diamond", {"n": 5, "label": "a b'c"})
    assert {s.status for s in plain.steps.values()} == {"CACHED"}


def test_a_failing_step_fails_the_task_and_the_run(project: Path) -> None:
    (project / "flows.py").write_text(LIGHT.replace('"v": sum(', '"v": -1 - sum('))
    for step in ("load", "left", "right"):
        run_step("flows.py:diamond", step, pipeline_run="r1")
    with pytest.raises(StepFailedError, match="negative"):
        run_step("flows.py:diamond", "join", pipeline_run="r1")
    run = _pipeline_run_of("r1")
    assert run.status == "FAILED" and run.steps["join"].status == "FAILED"
    assert "negative" in (run.error or "")


def test_bad_run_step_calls(project: Path) -> None:
    (project / "flows.py").write_text(LIGHT)
    run_step("flows.py:diamond", "load", pipeline_run="r2", params={"n": 3})
    with pytest.raises(InvalidParameterError, match="every step of a run takes the same -p"):
        run_step("flows.py:diamond", "left", pipeline_run="r2", params={"n": 4})
    with pytest.raises(NotFoundError, match="has no step 'nope'; its steps are: load"):
        run_step("flows.py:diamond", "nope", pipeline_run="r2")
    with pytest.raises(InvalidParameterError, match="without quotes"):
        run_step("flows.py:diamond", "load", pipeline_run="it's")
    with pytest.raises(InvalidParameterError, match="has no parameter 'm'"):
        run_step("flows.py:diamond", "load", pipeline_run="r3", params={"m": 1})
    # a loopml pipeline run id is accepted too
    run = _pipeline_run_of("r2")
    assert run_step("flows.py:diamond", "left", pipeline_run=run.run_id, params={"n": 3}).status
    assert get_pipeline_run(run.run_id).steps["left"].status == "FINISHED"


def test_bad_exports(project: Path) -> None:
    (project / "flows.py").write_text(LIGHT)
    with pytest.raises(InvalidParameterError, match="dag_id"):
        export_airflow("flows.py:diamond", project / "dags", dag_id="bad id!")
    with pytest.raises(InvalidParameterError, match="has no parameter 'nope'"):
        export_airflow("flows.py:diamond", project / "dags", params={"nope": 1})
    with pytest.raises(InvalidParameterError, match="schedule"):
        export_airflow("flows.py:diamond", project / "dags", schedule="@daily\nimport os")
    with pytest.raises(NotFoundError):
        export_airflow("missing.py:diamond", project / "dags")
    assert not (project / "dags").exists() or not list((project / "dags").iterdir())


@pytest.mark.slow
def test_a_model_pipeline_registers_through_airflow_tasks(project: Path) -> None:
    pytest.importorskip("sklearn")
    (project / "flows.py").write_text(MODEL)
    path = export_airflow("flows.py:churn", project / "dags", dag_id="churn_daily")
    tasks, edges = _dag(path)
    assert ("train", "register") in edges and ("evaluate", "register") in edges
    for task in _order(tasks, edges):
        _call(_argv(tasks[task]["bash_command"], "scheduled__2024-05-02T00:00:00+00:00"))
    run = _pipeline_run_of("scheduled__2024-05-02T00:00:00+00:00")
    assert run.status == "FINISHED"
    assert run.registered == ["models:/churn/1"]
    assert loopml.get_model_version("models:/churn/1").run_id == run.steps["register"].run_id


def _cli_has_run_step() -> bool:
    loopml_bin = Path(sys.executable).parent / "loopml"
    probe = subprocess.run(
        [str(loopml_bin), "pipeline", "run-step", "--help"], capture_output=True, text=True
    )
    return probe.returncode == 0


@pytest.mark.slow
def test_one_task_through_the_real_cli(project: Path) -> None:
    if not _cli_has_run_step():
        pytest.skip("`loopml pipeline run-step` is not in the CLI yet")
    (project / "flows.py").write_text(LIGHT)
    tasks, _ = _dag(export_airflow("flows.py:diamond", project / "dags", params={"n": 2}))
    argv = _argv(tasks["load"]["bash_command"], AIRFLOW_RUN)
    argv[0] = str(Path(sys.executable).parent / "loopml")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    done = subprocess.run(
        argv,
        cwd=tasks["load"].get("cwd") and project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    run = _pipeline_run_of(AIRFLOW_RUN)
    assert run.steps["load"].status == "FINISHED" and run.status == "RUNNING"
    # the next task runs in this process and finds the CLI's output
    _call(_argv(tasks["left"]["bash_command"], AIRFLOW_RUN))
    assert _pipeline_run_of(AIRFLOW_RUN).steps["left"].status == "FINISHED"
