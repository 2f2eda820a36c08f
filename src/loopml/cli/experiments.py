"""``loopml experiments``: list, create, rename, delete (soft) and restore experiments."""

from __future__ import annotations

import shlex
from typing import Annotated

import typer

from loopml.cli._common import JsonOpt, ProjectOpt, client, use_project
from loopml.cli._output import console, esc, human_time, new_table, print_json

app = typer.Typer(
    help="List, create, rename, delete and restore experiments.", no_args_is_help=True
)

NameArg = Annotated[str, typer.Argument(help="Experiment name (or id).", show_default=False)]


@app.command("list")
def list_experiments(
    all_: Annotated[bool, typer.Option("--all", "-a", help="Include deleted experiments.")] = False,
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """List experiments (active ones; --all adds deleted ones)."""
    use_project(project)
    experiments = client().ctx.metadata.list_experiments(include_deleted=all_)
    if json:
        print_json(
            [
                {
                    "experiment_id": e.experiment_id,
                    "name": e.name,
                    "lifecycle_stage": str(e.lifecycle_stage),
                    "created_ms": e.created_ms,
                    "updated_ms": e.updated_ms,
                    "tags": e.tags,
                }
                for e in experiments
            ]
        )
        return
    out = console()
    if not experiments:
        out.print("No experiments yet: `loopml quickstart` makes some, or log a run with the SDK.")
        return
    table = new_table("name", "id", "stage", "created")
    for e in experiments:
        stage = str(e.lifecycle_stage)
        table.add_row(
            esc(e.name),
            e.experiment_id,
            f"[red]{stage}[/]" if stage == "deleted" else stage,
            human_time(e.created_ms),
        )
    out.print(table)


@app.command("create")
def create(name: NameArg, project: ProjectOpt = None) -> None:
    """Create an experiment."""
    use_project(project)
    exp = client().ctx.metadata.create_experiment(name)
    console().print(f"Created experiment [bold]{esc(exp.name)}[/] ({exp.experiment_id})")


@app.command("rename")
def rename(
    old: NameArg,
    new: Annotated[str, typer.Argument(help="The new name.", show_default=False)],
    project: ProjectOpt = None,
) -> None:
    """Rename an experiment (its runs keep their experiment id)."""
    use_project(project)
    tc = client()
    exp = tc.resolve_experiment(old)
    renamed = tc.ctx.metadata.rename_experiment(exp.experiment_id, new)
    console().print(f"Renamed experiment {esc(exp.name)} -> [bold]{esc(renamed.name)}[/]")


@app.command("delete")
def delete(name: NameArg, project: ProjectOpt = None) -> None:
    """Delete an experiment and its runs (soft: restorable until `loopml gc` purges it)."""
    use_project(project)
    tc = client()
    exp = tc.resolve_experiment(name)
    tc.ctx.metadata.delete_experiment(exp.experiment_id)
    console().print(
        f"Deleted experiment [bold]{esc(exp.name)}[/]. Undo with "
        f"`loopml experiments restore {esc(shlex.quote(exp.name))}`; "
        "`loopml gc` purges it for good."
    )


@app.command("restore")
def restore(name: NameArg, project: ProjectOpt = None) -> None:
    """Restore a deleted experiment."""
    use_project(project)
    tc = client()
    exp = tc.resolve_experiment(name)
    tc.ctx.metadata.restore_experiment(exp.experiment_id)
    console().print(f"Restored experiment [bold]{esc(exp.name)}[/]")
