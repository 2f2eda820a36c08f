"""The ``loopml`` command: the Typer app, global options and error handling.

Every :class:`~loopml.errors.LoopmlError` becomes ``error: <message>`` on stderr with exit code 2
for bad input (``INVALID_PARAMETER``) and 1 otherwise; an unexpected exception prints a short
message (its traceback with ``LOOPML_DEBUG=1``). Typer/Click usage errors keep their own format
and exit code 2.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from loopml._version import __version__
from loopml.cli import (
    alerts,
    artifacts,
    audit,
    ct,
    data,
    db,
    deploy,
    experiments,
    gc,
    init,
    lineage,
    models,
    monitor,
    pipeline,
    quickstart,
    runs,
    serve,
    server,
    tune,
    users,
)
from loopml.cli._common import ProjectOpt, use_project
from loopml.cli._output import print_error, print_note
from loopml.errors import LoopmlError

__all__ = ["app", "exit_code_for", "run"]

DEBUG_ENV = "LOOPML_DEBUG"

# Typer's own control-flow exceptions (exit, abort, usage errors) pass through untouched. Found
# through public names so that this works whether Typer vendors Click (>= 0.20) or not.
_CLICK_ERROR: type[Exception] = next(
    cls for cls in typer.BadParameter.__mro__ if cls.__name__ == "ClickException"
)
_PASS_THROUGH: tuple[type[BaseException], ...] = (typer.Exit, typer.Abort, _CLICK_ERROR)


def exit_code_for(error: LoopmlError) -> int:
    return 2 if error.code == "INVALID_PARAMETER" else 1


def _debug() -> bool:
    return os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no")


class LoopmlGroup(TyperGroup):
    """Runs every sub-command under one error handler, so no command prints a traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except _PASS_THROUGH:
            raise
        except LoopmlError as exc:
            if _debug():
                raise
            print_error(exc.message)
            raise typer.Exit(exit_code_for(exc)) from None
        except KeyboardInterrupt:
            raise
        except BrokenPipeError:
            # the reader went away (`loopml runs list | head`): stop quietly, as cat does
            with contextlib.suppress(OSError, ValueError):  # no file descriptor when captured
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(1) from None
        except Exception as exc:
            if _debug():
                raise
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            print_error(f"unexpected {type(exc).__name__}" + (f": {detail}" if detail else ""))
            print_note(f"run with {DEBUG_ENV}=1 for the traceback")
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=LoopmlGroup,
    name="loopml",
    help="loopml: the whole MLOps loop in one install. Start with `loopml quickstart`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"loopml {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    ctx: typer.Context,
    project: ProjectOpt = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """loopml: track experiments, version data, train, register, serve and monitor models."""
    ctx.obj = {"project": project}
    if ctx.invoked_subcommand not in ("init", "quickstart"):
        use_project(project)


app.command("init")(init.init_command)
app.add_typer(experiments.app, name="experiments")
app.add_typer(runs.app, name="runs")
app.add_typer(artifacts.app, name="artifacts")
app.add_typer(db.app, name="db")
app.add_typer(data.app, name="data")
app.add_typer(models.app, name="models")
app.command("gc")(gc.gc_command)
app.command("quickstart")(quickstart.quickstart_command)
app.command("server")(server.server_command)
app.command("serve")(serve.serve_command)
app.add_typer(deploy.app, name="deploy")
app.add_typer(ct.app, name="ct")
app.add_typer(monitor.app, name="monitor")
app.add_typer(alerts.app, name="alerts")
app.add_typer(users.app, name="users")
app.add_typer(users.tokens_app, name="tokens")
app.add_typer(audit.app, name="audit")
app.add_typer(pipeline.app, name="pipeline")
app.command("lineage")(lineage.lineage_command)
app.command("tune")(tune.tune_command)


def run() -> None:
    """Console-script entry point (``loopml``)."""
    app(prog_name="loopml")


if __name__ == "__main__":
    run()
