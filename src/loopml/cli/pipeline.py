"""``loopml pipeline``: run a pipeline, list and show its runs, resume, explain the cache, export.

A pipeline is named by reference, ``path/to/file.py:name`` (or ``package.module:name``).
Parameters come from ``--config params.yaml`` and ``-p key=value`` (which wins); the pipeline
types and checks them against its signature before anything runs. A run id may be shortened to
the 8 characters the lists show.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from loopml.cli._common import JsonOpt, ProjectOpt, client, resolve_run, use_project
from loopml.cli._output import console, err_console, esc, print_json, print_note, short_id
from loopml.cli.pipeline_view import (
    dag_tree,
    failure_hint,
    run_header,
    runs_table,
    step_label,
    steps_table,
)
from loopml.errors import InvalidParameterError

if TYPE_CHECKING:
    from loopml.pipeline.records import PipelineRun

app = typer.Typer(
    help="Run pipelines and look at their runs: DAG, cache hits, failures, resume, export.",
    no_args_is_help=True,
)

RefArg = Annotated[
    str, typer.Argument(help="The pipeline: path/to/file.py:name (or package.module:name).")
]
RunArg = Annotated[str, typer.Argument(help="A pipeline run id (or its first 8 characters).")]
ParamOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        "-p",
        help="A parameter as key=value (repeatable); wins over --config.",
        show_default=False,
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="A YAML file of parameters.", show_default=False),
]
EXECUTORS = ("local", "process", "ray")
ExecutorOpt = Annotated[
    str,
    typer.Option(
        "--executor", "-e", help="Where steps run: local (in-process), process (a pool), ray."
    ),
]


def params_of(params: list[str] | None) -> dict[str, str]:
    """``-p`` values as text: the pipeline types them against its signature."""
    from loopml.pipeline.params import parse_cli_params

    return parse_cli_params(list(params or []))


def check_executor(name: str) -> str:
    if name not in EXECUTORS:
        raise InvalidParameterError(
            f"unknown executor {name!r}: choose one of {', '.join(EXECUTORS)}"
        )
    return name


def run_id_of(text: str) -> str:
    """The full pipeline run id for ``text`` (a pipeline run is also a tracking run)."""
    return resolve_run(client(), text).run_id


def _report(run: PipelineRun, *, as_json: bool) -> None:
    data = run.to_dict()
    if as_json:
        print_json(data)
    else:
        out = console()
        for line in run_header(data):
            out.print(line)
        out.print(steps_table(data))
        hint = failure_hint(data)
        if hint is not None:
            err_console().print(hint)
    if run.status == "FAILED":
        raise typer.Exit(1)


@app.command("run")
def run_command(
    ref: RefArg,
    param: ParamOpt = None,
    config: ConfigOpt = None,
    executor: ExecutorOpt = "local",
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Run every step, ignoring cached outputs.")
    ] = False,
    experiment: Annotated[
        str | None,
        typer.Option("--experiment", help="Track the run in this experiment.", show_default=False),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Run a pipeline; each step's status, time and cache hit show as it goes."""
    from loopml.cli.pipeline_progress import StepBoard, WatchedExecutor, live_progress
    from loopml.pipeline import get_executor, load_pipeline, run_pipeline

    check_executor(executor)
    pipe = load_pipeline(ref)
    params = params_of(param)
    values = pipe.resolve_params(params, config)  # bad parameters fail before any output
    board = StepBoard(list(pipe.build(values).topological()))
    with (
        WatchedExecutor(get_executor(executor), board) as exe,
        live_progress(board, enabled=None if not json_out else False),
    ):
        run = run_pipeline(pipe, values, executor=exe, cache=not no_cache, experiment=experiment)
    _report(run, as_json=json_out)


@app.command("runs")
def runs_command(
    pipeline: Annotated[
        str | None,
        typer.Option(
            "--pipeline", help="Only runs of this pipeline (its name).", show_default=False
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many.")] = 20,
    json_out: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """Recent pipeline runs, newest first."""
    from loopml.pipeline import get_pipeline_run, list_pipeline_runs

    use_project(project)
    runs = [get_pipeline_run(r.id).to_dict() for r in list_pipeline_runs(pipeline, limit)]
    if json_out:
        print_json({"runs": runs})
        return
    if not runs:
        print_note(
            "no pipeline runs yet"
            + (f" of {pipeline!r}" if pipeline else "")
            + "; start one with `loopml pipeline run path/file.py:name`"
        )
        return
    console().print(runs_table(runs))


@app.command("show")
def show_command(run: RunArg, json_out: JsonOpt = False, project: ProjectOpt = None) -> None:
    """One run: its DAG with each step's status, duration and cache hit, and any error."""
    from loopml.pipeline import get_pipeline_run

    use_project(project)
    found = get_pipeline_run(run_id_of(run)).to_dict()
    if json_out:
        print_json(found)
        return
    out = console()
    for line in run_header(found):
        out.print(line)
    out.print(dag_tree(found))
    out.print(steps_table(found))
    hint = failure_hint(found)
    if hint is not None:
        out.print(hint)


@app.command("resume")
def resume_command(
    run: RunArg,
    executor: Annotated[
        str | None,
        typer.Option(
            "--executor",
            "-e",
            help="Run on another executor than the first time.",
            show_default=False,
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Resume a run still marked RUNNING (its process died).")
    ] = False,
    json_out: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """Continue a failed run: re-run what failed and what depends on it."""
    from loopml.pipeline import resume

    use_project(project)
    if executor is not None:
        check_executor(executor)
    resumed = resume(run_id_of(run), executor, force=force)
    _report(resumed, as_json=json_out)


@app.command("explain-cache")
def explain_cache_command(
    run: RunArg,
    step: Annotated[str, typer.Argument(help="The step (its name in the run).")],
    json_out: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """Why a step did or did not hit the cache: which part of its key changed."""
    from loopml.pipeline import explain_cache

    use_project(project)
    found = explain_cache(run_id_of(run), step).to_dict()
    if json_out:
        print_json(found)
        return
    _print_explanation(found)


def _print_explanation(found: dict[str, Any]) -> None:
    from loopml.cli._output import new_table

    out = console()
    out.print(esc(found["summary"]))
    if found.get("cache_key"):
        out.print(f"  key       {found['cache_key']}")
    if found.get("previous_key"):
        prev = found.get("previous_run_id")
        out.print(
            f"  previous  {found['previous_key']}" + (f" (run {short_id(prev)})" if prev else "")
        )
    table = new_table("component", "changed", "now", "before", "what changed")
    for c in found["components"]:
        table.add_row(
            c["name"],
            "[yellow]yes[/]" if c["changed"] else "no",
            (c.get("new") or "-")[:12],
            (c.get("old") or "-")[:12],
            esc("\n".join(c.get("details") or [])) or "-",
        )
    out.print(table)


@app.command("export")
def export_command(
    ref: RefArg,
    to: Annotated[str, typer.Option("--to", help="The orchestrator: airflow.")] = "airflow",
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="The folder the DAG file is written to.")
    ] = Path("dags"),
    param: ParamOpt = None,
    dag_id: Annotated[
        str | None,
        typer.Option("--dag-id", help="Default: the pipeline's name.", show_default=False),
    ] = None,
    schedule: Annotated[
        str | None,
        typer.Option("--schedule", help="A cron expression or @daily; default: manual runs only."),
    ] = None,
) -> None:
    """Write an orchestrator's DAG whose tasks run the steps (`loopml pipeline run-step`)."""
    if to != "airflow":
        raise InvalidParameterError(f"cannot export to {to!r}: the supported target is airflow")
    from loopml.pipeline.export.airflow import export_airflow

    path = export_airflow(
        ref, out_dir, params=params_of(param) or None, dag_id=dag_id, schedule=schedule
    )
    console().print(f"Wrote [bold]{esc(path)}[/] (Airflow DAG for {esc(ref)})")


@app.command("run-step")
def run_step_command(
    ref: RefArg,
    step: Annotated[str, typer.Option("--step", "-s", help="The step to run (its node name).")],
    pipeline_run: Annotated[
        str,
        typer.Option(
            "--pipeline-run",
            help="The pipeline run this step belongs to (an orchestrator's run id); steps of one "
            "id share inputs and lineage.",
        ),
    ],
    param: ParamOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Run one step of a pipeline (what an exported orchestrator task calls)."""
    from loopml.pipeline.export.run_step import run_step

    result = run_step(ref, step, pipeline_run=pipeline_run, params=params_of(param)).to_dict()
    if json_out:
        print_json(result)
        return
    console().print(
        f"step {step_label(result)} of pipeline run {esc(pipeline_run)}"
        + (f"  [dim]run {short_id(result['run_id'])}[/]" if result.get("run_id") else "")
    )
