"""``loopml data``: version files and folders, check versions out, share them, and see changes.

Versions are named ``NAME@VERSION`` (``NAME@latest``, or a bare ``NAME`` for the latest) or
``data:/NAME/VERSION``. Every command takes ``--json`` for scripts.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from loopml.cli._common import JsonOpt, ProjectOpt, parse_duration, use_project
from loopml.cli._output import (
    console,
    esc,
    human_size,
    human_time,
    new_table,
    print_json,
    print_note,
    status,
)

if TYPE_CHECKING:
    from loopml.store.metadata.data_entities import DatasetVersion

app = typer.Typer(
    help="Version datasets (files and folders), check them out, push and pull them.",
    no_args_is_help=True,
)

RefArg = Annotated[
    str,
    typer.Argument(
        help="A dataset version: NAME@VERSION, NAME@latest, NAME or data:/NAME/VERSION.",
        show_default=False,
    ),
]
RemoteOpt = Annotated[
    str | None,
    typer.Option(
        "--remote",
        "-r",
        help="Remote object store (s3://bucket/prefix or a folder); default: LOOPML_DATA_REMOTE "
        "or data_remote in loopml.toml.",
        show_default=False,
    ),
]
JobsOpt = Annotated[int, typer.Option("--jobs", "-j", min=1, max=64, help="Parallel transfers.")]


def _table_text(v: DatasetVersion) -> str:
    if not v.is_table:
        return "-"
    cols = len(v.table_schema or [])
    return f"{v.num_rows:,} rows x {cols} cols ({v.table_format})"


@app.command("add")
def add(
    path: Annotated[Path, typer.Argument(help="A file or folder to version.", show_default=False)],
    name: Annotated[
        str | None,
        typer.Option("--name", "-n", help="Dataset name (default: the file or folder name)."),
    ] = None,
    message: Annotated[str | None, typer.Option("--message", "-m", help="What changed.")] = None,
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """Version a file or folder: store its content and record the next version."""
    use_project(project)
    from loopml.data.versions import add_version

    version, created = add_version(path, name, message)
    if json:
        print_json({**version.to_dict(), "created": created})
        return
    if not created:
        console().print(
            f"[yellow]unchanged[/]: {esc(path)} is identical to "
            f"[bold]{esc(version.name)}@{version.version}[/]; no new version"
        )
        return
    console().print(
        f"Added [bold]{esc(version.name)}@{version.version}[/] ({version.uri}): "
        f"{version.file_count:,} file(s), {human_size(version.size)}"
        + (f", {_table_text(version)}" if version.is_table else "")
    )


@app.command("list")
def list_(json: JsonOpt = False, project: ProjectOpt = None) -> None:
    """List datasets with their latest version."""
    use_project(project)
    from loopml.data.versions import list_datasets

    rows = list_datasets()
    if json:
        print_json(
            [
                {
                    "name": d.name,
                    "latest_version": d.latest_version,
                    "versions": d.version_count,
                    "size": d.size,
                    "updated_ms": d.updated_ms,
                }
                for d in rows
            ]
        )
        return
    if not rows:
        console().print("No datasets yet: add one with `loopml data add PATH --name NAME`.")
        return
    table = new_table("name", "latest", "versions", "size", "updated", title="Datasets")
    for d in rows:
        table.add_row(
            esc(d.name),
            f"@{d.latest_version}",
            str(d.version_count),
            human_size(d.size),
            human_time(d.updated_ms),
        )
    console().print(table)


@app.command("log")
def log(
    name: Annotated[str, typer.Argument(help="Dataset name.", show_default=False)],
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """Show the versions of a dataset, newest first."""
    use_project(project)
    from loopml.data.versions import list_versions, parse_ref

    versions = list_versions(parse_ref(name)[0])
    if json:
        print_json([v.to_dict() for v in versions])
        return
    table = new_table(
        "version", "created", "author", "files", "size", "table", "message", title=esc(name)
    )
    for v in versions:
        table.add_row(
            f"@{v.version}",
            human_time(v.created_ms),
            esc(v.author or "-"),
            f"{v.file_count:,}",
            human_size(v.size),
            _table_text(v),
            esc(v.message or ""),
        )
    console().print(table)


@app.command("show")
def show(ref: RefArg, json: JsonOpt = False, project: ProjectOpt = None) -> None:
    """Show one version: its record, schema, and the runs that used it."""
    use_project(project)
    from loopml.data.provenance import runs_of_version
    from loopml.data.versions import resolve

    v = resolve(ref)
    runs = runs_of_version(v)
    if json:
        print_json(
            {**v.to_dict(), "used_by": [{"run_id": r.run_id, "context": r.context} for r in runs]}
        )
        return
    out = console()
    table = new_table("", "", title=f"{esc(v.name)}@{v.version}", show_header=False)
    table.add_row("uri", v.uri)
    table.add_row("created", f"{human_time(v.created_ms)} by {esc(v.author or '-')}")
    table.add_row("message", esc(v.message or "-"))
    table.add_row("content", f"{v.file_count:,} file(s), {human_size(v.size)} ({v.layout})")
    table.add_row("manifest", v.manifest_hash)
    table.add_row("source", esc(v.source_path or "-"))
    table.add_row("git commit", v.git_commit or "-")
    table.add_row("table", _table_text(v))
    table.add_row("profile", "yes" if v.profile else "-")
    table.add_row("used by", ", ".join(f"{r.run_id[:8]} ({esc(r.context)})" for r in runs) or "-")
    out.print(table)
    if v.table_schema:
        schema = new_table("column", "type", "nullable", title="Schema")
        for col in v.table_schema:
            schema.add_row(esc(col["name"]), esc(col["type"]), "yes" if col["nullable"] else "no")
        out.print(schema)


@app.command("diff")
def diff(
    a: Annotated[str, typer.Argument(help="The old version.", show_default=False)],
    b: Annotated[str, typer.Argument(help="The new version.", show_default=False)],
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """Compare two versions: files added, removed, changed; rows, columns and types of tables."""
    use_project(project)
    from loopml.data.diffs import diff as diff_versions

    d = diff_versions(a, b)
    if json:
        print_json(d.to_dict())
        return
    out = console()
    out.print(f"[bold]{d.a.uri}[/] -> [bold]{d.b.uri}[/]")
    if d.same_content:
        out.print("Identical content.")
    table = new_table("change", "files")
    for label, items, style in (
        ("added", d.added, "green"),
        ("removed", d.removed, "red"),
        ("modified", d.modified, "yellow"),
    ):
        shown = ", ".join(esc(p) for p in items[:8]) + (" ..." if len(items) > 8 else "")
        table.add_row(f"[{style}]{label}[/]", f"{len(items)}  {shown}".rstrip())
    table.add_row("unchanged", str(d.unchanged))
    table.add_row("size", f"{human_size(d.a.size)} -> {human_size(d.b.size)}")
    out.print(table)
    if d.rows is not None:
        t = new_table("table", "change", title="Table")
        t.add_row("rows", f"{_num(d.rows[0])} -> {_num(d.rows[1])}")
        t.add_row("columns added", esc(", ".join(d.columns_added)) or "-")
        t.add_row("columns removed", esc(", ".join(d.columns_removed)) or "-")
        for column, ta, tb in d.type_changes:
            t.add_row(f"type of {esc(column)}", f"{esc(ta)} -> {esc(tb)}")
        for column, changes in d.stats.items():
            for key, (va, vb) in changes.items():
                t.add_row(f"{esc(column)}.{esc(key)}", f"{esc(va)} -> {esc(vb)}")
        out.print(t)


def _num(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


@app.command("checkout")
def checkout(
    ref: RefArg,
    dest: Annotated[
        Path | None,
        typer.Argument(
            help="Folder to write into (default: where the dataset was added).",
            show_default=False,
        ),
    ] = None,
    link: Annotated[
        str | None,
        typer.Option(
            "--link",
            help="Link modes to try in order: reflink, hardlink, symlink, copy "
            "(default reflink,copy: an edit can never reach the store).",
            show_default=False,
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", "-f", help="Overwrite files edited since their last add.")
    ] = False,
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """Write a version's files into a folder (only files that differ are written)."""
    use_project(project)
    from loopml.data.checkouts import checkout as do_checkout

    report = do_checkout(ref, dest, link=link, force=force)
    if json:
        print_json(report.to_dict())
        return
    modes = ", ".join(f"{n} by {m}" for m, n in sorted(report.modes.items()))
    console().print(
        f"Checked out [bold]{esc(report.version.name)}@{report.version.version}[/] into "
        f"{esc(report.path)}: {report.written:,} written"
        + (f" ({modes})" if modes else "")
        + f", {report.unchanged:,} unchanged"
        + (f", {report.removed:,} removed" if report.removed else "")
    )


def _transfer(
    direction: str, refs: list[str] | None, remote: str | None, jobs: int, json: bool
) -> None:
    from loopml.data import transfer

    fn = transfer.push if direction == "push" else transfer.pull
    report = fn(refs or None, remote=remote, workers=jobs)
    if json:
        print_json(report.to_dict())
        return
    verb = "Pushed" if direction == "push" else "Pulled"
    console().print(
        f"{verb} {report.moved:,} object(s) ({human_size(report.bytes_moved)}) "
        f"{'to' if direction == 'push' else 'from'} {esc(report.remote)}; "
        f"{report.present:,} already there ({len(report.versions)} version(s))"
    )


RefsArg = Annotated[
    list[str] | None,
    typer.Argument(help="Versions or dataset names (default: every version).", show_default=False),
]


@app.command("push")
def push(
    refs: RefsArg = None,
    remote: RemoteOpt = None,
    jobs: JobsOpt = 8,
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """Upload the objects of dataset versions that the remote lacks."""
    use_project(project)
    _transfer("push", refs, remote, jobs, json)


@app.command("pull")
def pull(
    refs: RefsArg = None,
    remote: RemoteOpt = None,
    jobs: JobsOpt = 8,
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """Download the objects of dataset versions that the local store lacks."""
    use_project(project)
    _transfer("pull", refs, remote, jobs, json)


@app.command("status")
def status_(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Only tracked paths under these (default: all).", show_default=False),
    ] = None,
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """Show what changed in tracked paths since their last add or checkout (exit 1 if any)."""
    use_project(project)
    from loopml.data.workspace import status as ws_status

    result = ws_status(paths or None)
    if json:
        print_json(result.to_dict())
    elif not result.paths:
        console().print("No tracked paths: version one with `loopml data add PATH`.")
    else:
        out = console()
        for p in result.paths:
            head = f"[bold]{esc(p.path)}[/] ({esc(p.name)}@{p.version})"
            if p.clean:
                out.print(f"{head}: [green]unchanged[/]")
                continue
            if p.missing:
                out.print(f"{head}: [red]missing[/]")
                continue
            out.print(f"{head}:")
            for label, items, style in (
                ("added", p.added, "green"),
                ("removed", p.removed, "red"),
                ("modified", p.modified, "yellow"),
            ):
                for item in items[:20]:
                    out.print(f"  [{style}]{label}:[/] {esc(item)}")
                if len(items) > 20:
                    out.print(f"  [{style}]... and {len(items) - 20} more {label}[/]")
    if not result.clean:
        raise typer.Exit(1)


@app.command("gc")
def gc(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", "-n", help="Report what would be removed; remove nothing.")
    ] = False,
    grace: Annotated[
        str, typer.Option("--grace", help="Keep objects written within this window (1h, 30m).")
    ] = "1h",
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """Remove stored objects no version (nor run) refers to, and stale stat-cache entries."""
    use_project(project)
    from loopml.data import _state, _stores
    from loopml.data.hashing import StatCache

    ctx = _stores.context()
    result: dict[str, Any] = {"dry_run": dry_run}
    with status("Collecting unreferenced objects…"):
        live, manifests = ctx.metadata.referenced_objects()
        report = ctx.objects.collect_garbage(
            live, manifests, dry_run=dry_run, grace_seconds=parse_duration(grace, "--grace")
        )
        conn = _state.connect(ctx.settings.state_dir)
        try:
            result["stat_cache_pruned"] = 0 if dry_run else StatCache(conn).prune()
        finally:
            conn.close()
    result.update(
        objects_removed=report.objects_removed,
        bytes_removed=report.bytes_removed,
        temp_files_removed=report.temp_files_removed,
        objects_kept=report.kept,
    )
    if json:
        print_json(result)
        return
    verb = "would remove" if dry_run else "removed"
    console().print(
        f"gc {verb} {report.objects_removed:,} object(s) ({human_size(report.bytes_removed)}), "
        f"kept {report.kept:,}"
    )
    if dry_run:
        print_note("dry run: nothing was removed")


@app.command("inputs")
def inputs(
    run_id: Annotated[str, typer.Argument(help="A run id.", show_default=False)],
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """Show the dataset versions a run recorded with loopml.log_input."""
    use_project(project)
    from loopml.cli._common import client, resolve_run
    from loopml.data.provenance import inputs_of_run

    run = resolve_run(client(), run_id)
    rows = inputs_of_run(run.run_id)
    if json:
        print_json([{"uri": r.uri, "context": r.context, "created_ms": r.created_ms} for r in rows])
        return
    if not rows:
        console().print(f"Run {run.run_id} logged no dataset inputs.")
        return
    table = new_table("dataset", "context", "logged", title=f"Inputs of run {run.run_id}")
    for r in rows:
        table.add_row(r.uri, esc(r.context), human_time(r.created_ms))
    console().print(table)


# -- schema, validate, drift --------------------------------------------------------------------
# The profiling/validation/drift commands live in ``loopml/cli/data_quality.py`` (their owner's
# module), which adds its commands to ``app`` above when imported; it is imported here when it
# exists, so the two halves of ``loopml data`` can grow independently.
if importlib.util.find_spec("loopml.cli.data_quality") is not None:
    importlib.import_module("loopml.cli.data_quality")
