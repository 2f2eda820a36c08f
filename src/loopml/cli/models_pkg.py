"""``loopml models env | check | dockerfile``: the package side of ``loopml models``.

These work on any model URI or package folder: check that an environment can serve the model,
build one and prove it, or write a container build context. The ``models`` group attaches them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from loopml.cli._common import JsonOpt, ProjectOpt, use_project
from loopml.cli._output import console, esc, new_table, print_json, print_note, status

__all__ = ["check_command", "dockerfile_command", "env_command"]

PackageArg = Annotated[
    str,
    typer.Argument(
        help="models:/<name>/<version>, models:/<name>@<alias>, runs:/<run_id>/model, "
        "obj:<hash> or a package folder.",
        show_default=False,
    ),
]


def check_command(uri: PackageArg, json: JsonOpt = False, project: ProjectOpt = None) -> None:
    """Check that this Python environment satisfies the model's pinned requirements."""
    use_project(project)
    from loopml.models.environment import check_environment

    report = check_environment(uri)
    if json:
        print_json(report.to_dict())
    else:
        out = console()
        if not report.python_ok:
            out.print(
                f"[yellow]python {esc(report.python_running)} runs here; the model was saved "
                f"with {esc(report.python_required)}[/]"
            )
        if report.mismatches:
            table = new_table("requirement", "installed", "problem")
            for m in report.mismatches:
                table.add_row(esc(m.requirement), esc(m.installed or "-"), m.problem)
            out.print(table)
        if report.ok:
            out.print(f"[green]ok[/]: all {len(report.requirements)} requirements are met")
    if not report.ok:
        raise typer.Exit(1)


def env_command(
    uri: PackageArg,
    venv: Annotated[
        Path, typer.Option("--venv", help="Folder of the virtual environment to build.")
    ],
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """Build a venv from the model's requirements, then load the model there and predict."""
    use_project(project)
    from loopml.models.venv import build_env

    with status(f"Building {venv} and predicting the input example there…"):
        built = build_env(uri, venv)
    if json:
        print_json(built.to_dict())
    else:
        out = console()
        verdict = "[green]ok[/]" if built.ok else "[red]failed[/]"
        out.print(
            f"{verdict}: built {esc(built.venv_dir)} with {built.installer} in "
            f"{built.seconds:.0f} s; the model loaded and predicted its input example"
        )
        if built.same_as_here is False:
            out.print("[red]its predictions differ from this environment's[/]")
        for problem in built.mismatches:
            out.print(f"[yellow]{esc(problem)}[/]")
    if not built.ok:
        raise typer.Exit(1)


def dockerfile_command(
    uri: PackageArg,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder to write the build context into.")
    ],
    force: Annotated[bool, typer.Option("--force", help="Replace model/ if present.")] = False,
    project: ProjectOpt = None,
) -> None:
    """Write a container build context: Dockerfile, requirements.txt and the package."""
    use_project(project)
    from loopml.models.container import write_build_context

    path = write_build_context(uri, output, overwrite=force)
    console().print(f"Wrote {esc(path)} and {esc(path.parent / 'model')}")
    print_note(f"build it with: docker build -t my-model {path.parent}")
