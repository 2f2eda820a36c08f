"""``loopml artifacts``: list and fetch the files a run logged (``runs:/<run_id>/<path>``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from loopml.cli._common import JsonOpt, ProjectOpt, client, resolve_run, use_project
from loopml.cli._output import console, esc, human_size, human_time, new_table, print_json
from loopml.errors import InvalidParameterError

if TYPE_CHECKING:
    from loopml.tracking.client import TrackingClient

app = typer.Typer(help="List and download run artifacts.", no_args_is_help=True)

UriArg = Annotated[
    str,
    typer.Argument(
        help="runs:/<run_id>/<path> (a bare run id means the run's artifact root).",
        show_default=False,
    ),
]


def _split(tc: TrackingClient, uri: str) -> tuple[str, str]:
    """(full run id, path inside the run) of ``uri``; the path is checked before any look-up."""
    from loopml.tracking import artifacts as art
    from loopml.uris import RunArtifactURI, parse_uri

    if uri.startswith("runs:/"):
        parsed = parse_uri(uri)
        assert isinstance(parsed, RunArtifactURI)
        run_id, path = parsed.run_id, parsed.path
    elif ":" in uri or "/" in uri:
        raise InvalidParameterError(
            f"{uri!r} is not a run artifact URI: use runs:/<run_id>/<path>, e.g. "
            "runs:/0a1b2c3d/model/model.pkl"
        )
    else:
        run_id, path = uri, ""
    path = art.clean_artifact_path(path, allow_root=True)
    return resolve_run(tc, run_id).run_id, path


@app.command("ls")
def ls(uri: UriArg, json: JsonOpt = False, project: ProjectOpt = None) -> None:
    """List a run's artifacts (or the files inside a logged folder)."""
    use_project(project)
    tc = client()
    run_id, path = _split(tc, uri)
    records = tc.list_artifacts(run_id, path)
    if json:
        print_json(
            [
                {
                    "path": r.path,
                    "kind": r.kind,
                    "size": r.size,
                    "hash": r.object_hash,
                    "uri": f"runs:/{run_id}/{r.path}",
                    "created_ms": r.created_ms,
                }
                for r in records
            ]
        )
        return
    out = console()
    if not records:
        where = f" under {path!r}" if path else ""
        out.print(f"Run {run_id} has no artifacts{where}.")
        return
    table = new_table("path", "kind", "size", "hash", "logged", title=f"runs:/{run_id}/{esc(path)}")
    total = 0
    for rec in records:
        total += rec.size
        kind = "[blue]dir[/]" if rec.kind == "dir" else rec.kind
        table.add_row(
            esc(rec.path),
            kind,
            human_size(rec.size),
            rec.object_hash[:12],
            human_time(rec.created_ms),
        )
    out.print(table)
    out.print(f"{len(records)} artifact(s), {human_size(total)}")


@app.command("get")
def get(
    uri: UriArg,
    dest: Annotated[
        Path,
        typer.Argument(
            help="Where to write: a file path, or an existing folder to write into.",
            show_default=False,
        ),
    ],
    project: ProjectOpt = None,
) -> None:
    """Download an artifact (file or folder) to DEST; bytes are verified against their hash."""
    use_project(project)
    tc = client()
    run_id, path = _split(tc, uri)
    written = tc.download_artifacts(run_id, dest, path)
    console().print(f"Wrote {esc(written)}")
