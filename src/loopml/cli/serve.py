"""``loopml serve``: one model, as a prediction service, right now."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from loopml.cli._common import ProjectOpt, use_project
from loopml.cli._output import err_console, esc
from loopml.errors import InvalidParameterError

__all__ = ["serve_command"]

TOKEN_ENV = "LOOPML_SERVING_TOKEN"  # noqa: S105 - the name of a variable, not a secret
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def serve_command(
    uri: Annotated[
        str,
        typer.Argument(
            help="models:/<name>/<version>, models:/<name>@<alias>, runs:/<run_id>/model, "
            "obj:<hash> or a package folder.",
            show_default=False,
        ),
    ],
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8080,
    workers: Annotated[int, typer.Option("--workers", help="Worker processes.", min=1)] = 1,
    name: Annotated[
        str | None,
        typer.Option("--name", help="Model name on /v2 (default: the registered name)."),
    ] = None,
    batching: Annotated[
        bool,
        typer.Option(
            "--batching/--no-batching", help="Merge concurrent requests into one predict call."
        ),
    ] = True,
    max_batch_size: Annotated[
        int, typer.Option("--max-batch-size", help="Most rows in one predict call.", min=1)
    ] = 256,
    max_queue: Annotated[
        int,
        typer.Option("--max-queue", help="Requests that may wait; beyond, a 503.", min=1),
    ] = 1024,
    method: Annotated[
        str | None, typer.Option("--method", help="Model method, e.g. predict_proba.")
    ] = None,
    max_body_mb: Annotated[
        int, typer.Option("--max-body-mb", help="Largest request body, in MiB.", min=1)
    ] = 16,
    reload_interval: Annotated[
        float,
        typer.Option(
            "--reload-interval",
            help="Seconds between checks of where an alias (@champion) points (0: never).",
            min=0,
        ),
    ] = 1.0,
    project: ProjectOpt = None,
) -> None:
    """Serve a model on /invocations (MLflow) and /v2 (Open Inference Protocol).

    A model named by alias (models:/churn@champion) is followed: when the alias moves, the new
    version is loaded, smoke-tested and switched to without failed requests.
    Set LOOPML_SERVING_TOKEN to require 'Authorization: Bearer <token>' on prediction routes.
    """
    use_project(project)
    from loopml.serving.run import ServeSpec, serve
    from loopml.tracking.context import get_context

    token = os.environ.get(TOKEN_ENV) or None
    if port < 0 or port > 65535:
        raise InvalidParameterError(f"--port must be between 0 and 65535, got {port}")
    stored = uri.startswith(("models:/", "runs:/", "obj:"))  # needs the project's stores
    spec = ServeSpec(
        uri=uri,
        name=name,
        project=str(get_context().settings.root) if stored else None,
        batching=batching,
        max_batch_size=max_batch_size,
        max_queue=max_queue,
        method=method,
        max_body_bytes=max_body_mb << 20,
        token=token,
        reload_interval_s=reload_interval,
    )
    auth = "[green]on[/]" if token else "[yellow]off[/]"
    if host not in _LOOPBACK and not token:
        auth += " (anyone who reaches this host can predict)"
    err_console().print(
        f"serving {esc(uri)} on [bold]http://{esc(host)}:{port}[/] (/invocations, /v2; auth "
        f"{auth}; {workers} worker{'s' if workers > 1 else ''}). Ctrl-C stops it."
    )
    serve(spec, host=host, port=port, workers=workers)
