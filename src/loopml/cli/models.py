"""``loopml models``: the model registry from the terminal.

List, show and search models; move aliases (through a promotion request where the model's
approval policy protects the alias); approve or reject requests; draw lineage; write model cards.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from loopml.cli import models_pkg
from loopml.cli._common import JsonOpt, ProjectOpt, use_project
from loopml.cli._output import (
    console,
    esc,
    human_number,
    human_time,
    new_table,
    print_json,
    print_note,
    status,
)
from loopml.errors import InvalidParameterError

if TYPE_CHECKING:
    from loopml.store.metadata.registry_entities import ModelVersion, RegistryEvent

app = typer.Typer(
    help="Register, alias, promote, approve and inspect model versions.", no_args_is_help=True
)

NameArg = Annotated[str, typer.Argument(help="Registered model name.", show_default=False)]
VersionArg = Annotated[int, typer.Argument(help="Version number.", min=1, show_default=False)]
UriArg = Annotated[
    str,
    typer.Argument(help="models:/<name>/<version> or models:/<name>@<alias>.", show_default=False),
]
ToOpt = Annotated[
    str, typer.Option("--to", help="The alias to move, e.g. champion.", show_default=False)
]
ReasonOpt = Annotated[
    str | None, typer.Option("--reason", "-r", help="Why (kept in the model's history).")
]

_STATUS_STYLE = {"READY": "green", "ARCHIVED": "yellow", "DELETED": "red"}


def _status(value: object) -> str:
    text = str(value)
    return f"[{_STATUS_STYLE.get(text, 'white')}]{text}[/]"


def _aliases(aliases: list[str]) -> str:
    return ", ".join(f"[cyan]@{esc(a)}[/]" for a in aliases)


# -- list, show, versions -------------------------------------------------------------------
@app.command("list")
def list_models(
    filter_: Annotated[
        str | None,
        typer.Option(
            "--filter", "-f", help="e.g. \"tags.team = 'growth'\" or \"name LIKE 'churn%'\"."
        ),
    ] = None,
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """List registered models."""
    use_project(project)
    from loopml import registry

    models = registry.search_models(filter_)
    if json:
        print_json({"models": [m.to_dict() for m in models]})
        return
    out = console()
    if not models:
        out.print("No models match." if filter_ else "No registered models yet.")
        return
    table = new_table("name", "latest", "aliases", "owner", "updated", "tags")
    for m in models:
        table.add_row(
            f"[bold]{esc(m.name)}[/]",
            str(m.latest_version or "-"),
            ", ".join(f"[cyan]@{esc(a)}[/]→{v}" for a, v in m.aliases.items()),
            esc(m.owner or "-"),
            human_time(m.updated_ms, seconds=False),
            esc(", ".join(f"{k}={v}" for k, v in sorted(m.tags.items()))),
        )
    out.print(table)


def _versions_table(
    versions: list[ModelVersion], title: str | None = None, metrics: int = 0
) -> Any:
    keys = sorted({k for v in versions for k in v.metrics})[:metrics]
    table = new_table(
        "version", "status", "aliases", "flavor", "run", "registered", *keys, title=title
    )
    for v in versions:
        table.add_row(
            str(v.version),
            _status(v.status),
            _aliases(v.aliases),
            esc(v.flavor or "-"),
            (v.run_id or "-")[:8],
            f"{human_time(v.created_ms, seconds=False)} {esc(v.user or '')}".strip(),
            *(human_number(v.metrics[k]) if k in v.metrics else "-" for k in keys),
        )
    return table


def _event_text(e: RegistryEvent) -> str:
    what = e.action
    if e.version is not None:
        what += f" v{e.version}"
    if e.alias:
        what += f" @{e.alias}"
    if e.action == "alias.set" and e.detail.get("previous_version") is not None:
        what += f" (was v{e.detail['previous_version']})"
    if e.reason:
        what += f": {e.reason}"
    return what


@app.command("show")
def show(
    name: NameArg,
    history: Annotated[int, typer.Option("--history", help="History entries shown.")] = 15,
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """A model: description, tags, aliases, policies, pending requests, versions, history."""
    use_project(project)
    from loopml.registry._stores import registry_store
    from loopml.store.metadata.registry_entities import RequestStatus

    store = registry_store()
    model = store.get_registered_model(name)
    versions = store.list_model_versions(name)
    policies = store.list_policies(name)
    pending = store.list_promotion_requests(name, status=RequestStatus.PENDING)
    events = store.list_events(name, limit=max(1, history))
    if json:
        print_json(
            {
                **model.to_dict(),
                "versions": [v.to_dict() for v in versions],
                "policies": [p.to_dict() for p in policies],
                "pending_requests": [r.to_dict() for r in pending],
                "history": [e.to_dict() for e in events],
            }
        )
        return
    out = console()
    out.print(
        f"[bold]{esc(model.name)}[/]" + (f"  {esc(model.description)}" if model.description else "")
    )
    out.print(
        f"owner {esc(model.owner or '-')} · created {human_time(model.created_ms)} · "
        f"updated {human_time(model.updated_ms)}"
    )
    if model.tags:
        out.print("tags: " + esc(", ".join(f"{k}={v}" for k, v in sorted(model.tags.items()))))
    if model.aliases:
        out.print(
            "aliases: " + ", ".join(f"[cyan]@{esc(a)}[/] → v{v}" for a, v in model.aliases.items())
        )
    for p in policies:
        who = ", ".join(p.approvers) if p.approvers else "any approver"
        out.print(f"[yellow]protected[/] @{esc(p.alias)}: moving it needs approval by {esc(who)}")
    for r in pending:
        out.print(
            f"[yellow]pending[/] v{r.version} → @{esc(r.alias)} requested by "
            f"{esc(r.requested_by or '?')} {human_time(r.requested_ms, seconds=False)}"
            + (f": {esc(r.reason)}" if r.reason else "")
            + f"  (approve: loopml models approve {esc(name)} {r.version} --to {esc(r.alias)})"
        )
    if versions:
        out.print(_versions_table(versions[:20], title="versions"))
    if events:
        table = new_table("when", "who", "what", title="history")
        for e in events:
            table.add_row(human_time(e.ts_ms), esc(e.actor or "-"), esc(_event_text(e)))
        out.print(table)


@app.command("versions")
def versions(
    name: NameArg,
    all_: Annotated[bool, typer.Option("--all", "-a", help="Include deleted versions.")] = False,
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """The versions of a model, newest first."""
    use_project(project)
    from loopml import registry

    found = registry.list_model_versions(name, include_deleted=all_)
    if json:
        print_json({"versions": [v.to_dict() for v in found]})
        return
    if not found:
        console().print(f"{esc(name)} has no versions" + ("." if all_ else " (try --all)."))
        return
    console().print(_versions_table(found, metrics=4))


# -- register, aliases, promotion -----------------------------------------------------------
@app.command("register")
def register(
    uri: Annotated[str, typer.Argument(help="runs:/<run_id>/<path> of a logged model.")],
    name: NameArg,
    description: Annotated[str | None, typer.Option("--description", "-d")] = None,
    project: ProjectOpt = None,
) -> None:
    """Register a logged model package as the next version of NAME."""
    use_project(project)
    from loopml import registry

    mv = registry.register_model(uri, name, description=description)
    console().print(f"Registered [bold]{esc(mv.uri)}[/] from {esc(mv.source_uri)}")


@app.command("alias")
def alias(
    name: NameArg,
    alias_name: Annotated[str, typer.Argument(metavar="ALIAS", help="e.g. champion.")],
    version: Annotated[int | None, typer.Argument(min=1, help="Version to point at.")] = None,
    delete: Annotated[bool, typer.Option("--delete", help="Remove the alias.")] = False,
    reason: ReasonOpt = None,
    project: ProjectOpt = None,
) -> None:
    """Point ALIAS at VERSION (or remove it with --delete)."""
    use_project(project)
    from loopml import registry

    if delete:
        registry.delete_alias(name, alias_name, reason=reason)
        console().print(f"Removed alias @{esc(alias_name)} of {esc(name)}")
        return
    if version is None:
        raise InvalidParameterError(
            f"give the version for @{alias_name}: loopml models alias {name} {alias_name} <version>"
        )
    registry.set_alias(name, alias_name, version, reason=reason)
    console().print(f"models:/{esc(name)}@{esc(alias_name)} → version {version}")


@app.command("promote")
def promote(
    name: NameArg,
    version: VersionArg,
    to: ToOpt,
    approve: Annotated[
        bool, typer.Option("--approve", help="Confirm it yourself (recorded as the approver).")
    ] = False,
    reason: ReasonOpt = None,
    project: ProjectOpt = None,
) -> None:
    """Move alias --to to VERSION; where a policy protects it, request an approval."""
    use_project(project)
    from loopml import registry

    result = registry.promote(name, version, to, approve=approve, reason=reason)
    if result.moved:
        how = " (approved)" if result.request is not None else ""
        console().print(f"models:/{esc(name)}@{esc(to)} → version {version}{how}")
        return
    assert result.request is not None
    console().print(
        f"Promotion of {esc(name)} v{version} to @{esc(to)} is [yellow]pending[/] "
        f"(request {result.request.request_id[:8]}): an approver runs "
        f"`loopml models approve {esc(name)} {version} --to {esc(to)}`"
    )


@app.command("approve")
def approve(
    name: NameArg,
    version: VersionArg,
    to: ToOpt,
    reason: ReasonOpt = None,
    project: ProjectOpt = None,
) -> None:
    """Approve the pending promotion of VERSION to --to; the alias moves."""
    use_project(project)
    from loopml import registry

    request = registry.approve_promotion(name, version, to, reason=reason)
    console().print(
        f"Approved: models:/{esc(name)}@{esc(to)} → version {version} "
        f"(requested by {esc(request.requested_by or '?')})"
    )


@app.command("reject")
def reject(
    name: NameArg,
    version: VersionArg,
    to: ToOpt,
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why (required).")],
    project: ProjectOpt = None,
) -> None:
    """Reject the pending promotion of VERSION to --to, with a reason."""
    use_project(project)
    from loopml import registry

    registry.reject_promotion(name, version, to, reason)
    console().print(f"Rejected promotion of {esc(name)} v{version} to @{esc(to)}")


@app.command("policy")
def policy(
    name: NameArg,
    protect: Annotated[
        list[str] | None, typer.Option("--protect", help="Alias that needs approval (repeatable).")
    ] = None,
    approver: Annotated[
        list[str] | None,
        typer.Option("--approver", help="User who may approve (repeatable; default: any)."),
    ] = None,
    unprotect: Annotated[
        list[str] | None, typer.Option("--unprotect", help="Alias to free (repeatable).")
    ] = None,
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """Show or change which aliases of NAME need an approval to move."""
    use_project(project)
    from loopml import registry
    from loopml.registry._stores import registry_store

    for alias_name in protect or []:
        registry.set_approval_policy(name, alias_name, approver or [])
    for alias_name in unprotect or []:
        registry.remove_approval_policy(name, alias_name)
    policies = registry_store().list_policies(name)
    if json:
        print_json({"policies": [p.to_dict() for p in policies]})
        return
    if not policies:
        console().print(f"No alias of {esc(name)} is protected.")
        return
    table = new_table("alias", "approvers", "since", "by")
    for p in policies:
        table.add_row(
            f"@{esc(p.alias)}",
            esc(", ".join(p.approvers) or "any approver"),
            human_time(p.created_ms, seconds=False),
            esc(p.created_by or "-"),
        )
    console().print(table)


# -- archive, restore, delete ---------------------------------------------------------------
@app.command("archive")
def archive(name: NameArg, version: VersionArg, project: ProjectOpt = None) -> None:
    """Archive a version: it keeps resolving by number but takes no alias."""
    use_project(project)
    from loopml import registry

    registry.archive_model_version(name, version)
    console().print(
        f"Archived {esc(name)} v{version} (undo: loopml models restore {esc(name)} {version})"
    )


@app.command("restore")
def restore(name: NameArg, version: VersionArg, project: ProjectOpt = None) -> None:
    """Make an archived or deleted version READY again."""
    use_project(project)
    from loopml import registry

    registry.restore_model_version(name, version)
    console().print(f"Restored {esc(name)} v{version}")


@app.command("delete")
def delete(
    name: NameArg,
    version: Annotated[
        int | None, typer.Argument(min=1, help="Version; omit for the model.")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete the whole model.")] = False,
    project: ProjectOpt = None,
) -> None:
    """Delete a version (restorable), or with --yes a whole model and its versions."""
    use_project(project)
    from loopml import registry

    if version is not None:
        registry.delete_model_version(name, version)
        console().print(
            f"Deleted {esc(name)} v{version} (undo: loopml models restore {esc(name)} {version})"
        )
        return
    if not yes:
        raise InvalidParameterError(
            f"deleting model {name!r} removes all its versions and aliases: add --yes to confirm, "
            "or give a version to delete only that one"
        )
    registry.delete_registered_model(name)
    console().print(f"Deleted model {esc(name)}")


# -- lineage and card -----------------------------------------------------------------------
@app.command("lineage")
def lineage(uri: UriArg, json: JsonOpt = False, project: ProjectOpt = None) -> None:
    """Where a model version came from: run, params, metrics, code, data, pipeline."""
    use_project(project)
    from loopml.registry.lineage import lineage as build

    body = build(uri)
    if json:
        print_json(body)
        return
    from loopml.cli.models_lineage import lineage_tree

    console().print(lineage_tree(body))


@app.command("card")
def card(
    uri: UriArg,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="card.html or card.md.", show_default=False)
    ],
    data: Annotated[
        Path | None, typer.Option("--data", help="Evaluation data (.parquet or .csv).")
    ] = None,
    target: Annotated[str | None, typer.Option("--target", help="Label column of --data.")] = None,
    slice_column: Annotated[
        str | None, typer.Option("--slice-column", help="Column to report metrics per value of.")
    ] = None,
    project: ProjectOpt = None,
) -> None:
    """Write a model card (HTML or Markdown) for reviewers and regulators."""
    use_project(project)
    from loopml.registry.card import write_card

    with status("Writing the model card…"):
        path = write_card(uri, output, data=data, target=target, slice_column=slice_column)
    console().print(f"Wrote {esc(path)}")
    if data is None:
        print_note("add --data and --target for feature importance and slice metrics")


# -- the package side (loopml.cli.models_pkg): environment check, venv, container context ------
app.command("check")(models_pkg.check_command)
app.command("env")(models_pkg.env_command)
app.command("dockerfile")(models_pkg.dockerfile_command)
