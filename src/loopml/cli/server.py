"""``loopml server``: serve the project's stores (or the given ones) to a team over HTTP."""

from __future__ import annotations

from typing import Annotated

import typer

from loopml.cli._common import ProjectOpt, use_project
from loopml.cli._output import err_console, esc


def server_command(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 5000,
    db: Annotated[
        str | None, typer.Option("--db", help="Database URL (default: the project's).")
    ] = None,
    objects: Annotated[
        str | None,
        typer.Option("--objects", help="Object store: a folder or s3://bucket/prefix."),
    ] = None,
    auth: Annotated[bool, typer.Option("--auth", help="Require API tokens.")] = False,
    insecure: Annotated[
        bool,
        typer.Option("--insecure", help="Allow a non-loopback host without --auth."),
    ] = False,
    workers: Annotated[int, typer.Option("--workers", help="Worker processes.")] = 1,
    max_body_mb: Annotated[
        int, typer.Option("--max-body-mb", help="Largest JSON request body, in MiB.")
    ] = 64,
    project: ProjectOpt = None,
) -> None:
    """Start the team server (REST API under /api/v1, docs at /docs)."""
    use_project(project)
    from loopml.server.config import ServerConfig
    from loopml.server.run import run_server
    from loopml.tracking.context import get_context

    settings = get_context().settings
    config = ServerConfig(
        db_url=db or settings.db_url,
        objects_url=objects or settings.object_store,
        auth=auth,
        max_body_bytes=max_body_mb << 20,
        host=host,
        port=port,
        workers=workers,
        insecure=insecure,
    )
    config.check()
    shown = "[green]on[/]" if auth else "[yellow]off[/]"
    err_console().print(
        f"loopml server on [bold]http://{esc(host)}:{port}[/] (auth {shown}, {workers} "
        f"worker{'s' if workers > 1 else ''}); docs at /docs. Ctrl-C stops it."
    )
    run_server(config)
