"""``loopml gc``: purge soft-deleted runs, remove unreferenced objects, optionally verify."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from loopml.cli._common import (
    JsonOpt,
    ProjectOpt,
    client,
    parse_duration,
    search_all_runs,
    use_project,
)
from loopml.cli._output import (
    console,
    human_size,
    human_time,
    new_table,
    now_ms,
    print_json,
    status,
)


def _soft_deleted_runs() -> int:
    """How many runs are soft-deleted now: by their own flag, or with their experiment."""
    tc = client()
    own = search_all_runs(tc, "attributes.lifecycle_stage = 'deleted'")
    with_experiment = search_all_runs(
        tc, "attributes.lifecycle_stage = 'active'", deleted_experiments=True
    )
    return len(own) + len(with_experiment)


def gc_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", "-n", help="Report what would be removed; remove nothing.")
    ] = False,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify", help="Re-hash every stored object and report corrupt ones (exit code 1)."
        ),
    ] = False,
    older_than: Annotated[
        str,
        typer.Option(
            "--older-than",
            help="Purge runs and experiments deleted longer ago than this (90m, 7d).",
        ),
    ] = "7d",
    grace: Annotated[
        str,
        typer.Option(
            "--grace",
            help="Keep objects written within this window whatever refers to them "
            "(protects uploads whose run is being recorded).",
        ),
    ] = "1h",
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """Purge deleted runs older than --older-than, then remove objects nothing refers to."""
    use_project(project)
    from loopml.tracking.context import get_context

    window_s = parse_duration(older_than, "--older-than")
    grace_s = parse_duration(grace, "--grace")
    ctx = get_context()
    meta, objects = ctx.metadata, ctx.objects
    cutoff_ms = now_ms() - int(window_s * 1000)

    result: dict[str, Any] = {"dry_run": dry_run, "purge_before_ms": cutoff_ms}
    with status("Purging deleted runs…" if not dry_run else "Counting deleted runs…"):
        if dry_run:
            result["runs_soft_deleted"] = _soft_deleted_runs()
            result["runs_purged"] = 0
        else:
            result["runs_purged"] = meta.purge_deleted(cutoff_ms)
    with status("Collecting unreferenced objects…"):
        live, manifests = meta.referenced_objects()
        report = objects.collect_garbage(live, manifests, dry_run=dry_run, grace_seconds=grace_s)
    result.update(
        objects_removed=report.objects_removed,
        bytes_removed=report.bytes_removed,
        temp_files_removed=report.temp_files_removed,
        objects_kept=report.kept,
    )
    corrupt: list[str] = []
    if verify:
        with status("Verifying every object (re-hashing)…"):
            corrupt = sorted(objects.verify_all())
        result["corrupt"] = corrupt
    if json:
        print_json(result)
    else:
        _print_report(result, verify=verify)
    if corrupt:
        raise typer.Exit(1)


def _print_report(result: dict[str, Any], *, verify: bool) -> None:
    out = console()
    dry = result["dry_run"]
    verb = "to remove" if dry else "removed"
    table = new_table(
        "",
        "",
        title="Garbage collection (dry run)" if dry else "Garbage collection",
        show_header=False,
    )
    if dry:
        table.add_row(
            "deleted runs",
            f"{result['runs_soft_deleted']} soft-deleted; those deleted before "
            f"{human_time(result['purge_before_ms'])} would be purged "
            "(their objects are counted as live here)",
        )
    else:
        table.add_row("runs purged", str(result["runs_purged"]))
    table.add_row(
        f"objects {verb}",
        f"{result['objects_removed']} ({human_size(result['bytes_removed'])})",
    )
    table.add_row(f"temp files {verb}", str(result["temp_files_removed"]))
    table.add_row("objects kept", str(result["objects_kept"]))
    if verify:
        corrupt = result["corrupt"]
        table.add_row(
            "verify",
            "[green]all objects intact[/]" if not corrupt else f"[red]{len(corrupt)} corrupt[/]",
        )
    out.print(table)
    if verify and result["corrupt"]:
        out.print("[bold red]Corrupt objects[/] (their bytes no longer match their hash):")
        for digest in result["corrupt"]:
            out.print(f"  [red]{digest}[/]")
        out.print(
            "Restore them from a backup, or delete them and log the content again; "
            "`loopml artifacts ls` shows which run holds a hash."
        )
