"""``loopml audit log``: who changed what on the server, and when."""

from __future__ import annotations

import time
from typing import Annotated

import orjson
import typer

from loopml.cli._common import JsonOpt, ProjectOpt, parse_duration, use_project
from loopml.cli._output import console, esc, human_time, new_table, print_json
from loopml.cli.users import audit_log

app = typer.Typer(help="Read the audit trail of changes.", no_args_is_help=True)


@app.command("log")
def log(
    since: Annotated[
        str | None, typer.Option("--since", help="Only changes this recent, e.g. 1h, 7d.")
    ] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="Only this user's changes.")] = None,
    action: Annotated[
        str | None, typer.Option("--action", help="Action prefix, e.g. runs. or tokens.create.")
    ] = None,
    target: Annotated[
        str | None, typer.Option("--target", help="Target prefix, e.g. run:3fa2 or user:alice.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many records.")] = 200,
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """Print audit records, newest first."""
    use_project(project)
    since_ms = None
    if since:
        since_ms = time.time_ns() // 1_000_000 - int(parse_duration(since, "--since") * 1000)
    with audit_log() as audit:
        records = audit.query(
            since_ms=since_ms, actor=actor, action=action, target=target, limit=limit
        )
    if json:
        print_json([r.to_dict() for r in records])
        return
    table = new_table("when", "actor", "action", "target", "summary")
    for r in records:
        summary = orjson.dumps(r.summary).decode()
        table.add_row(
            human_time(r.ts_ms),
            esc(r.actor),
            esc(r.action),
            esc(r.target),
            esc(summary if len(summary) <= 80 else summary[:77] + "..."),
        )
    console().print(table)
