"""Options every command shares, and the few look-ups several command groups need."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from loopml.errors import InvalidParameterError, NotFoundError

if TYPE_CHECKING:
    from loopml.store.metadata.entities import Run
    from loopml.tracking.client import TrackingClient

ProjectOpt = Annotated[
    Path | None,
    typer.Option(
        "--project",
        "-C",
        help="The project folder (holding loopml.toml); default: found upward from the cwd.",
        show_default=False,
    ),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print machine-readable JSON only (for scripts).")
]

_HEX = re.compile(r"^[0-9a-f]+$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def global_project(ctx: typer.Context) -> Path | None:
    """The ``-C`` given before the sub-command (``loopml -C DIR init``), if any."""
    obj = ctx.find_root().obj
    project = obj.get("project") if isinstance(obj, dict) else None
    return project if isinstance(project, Path) else None


def use_project(project: Path | None) -> None:
    """Point the SDK at ``project`` (``-C``); without it, the project found from the cwd."""
    if project is None:
        return
    if not project.is_dir():
        raise InvalidParameterError(
            f"project folder {str(project)!r} does not exist; create one with `loopml init {project}`"
        )
    from loopml.tracking.context import configure

    configure(project)


def client() -> TrackingClient:
    from loopml.tracking.client import TrackingClient

    return TrackingClient()


def parse_duration(text: str, what: str = "--older-than") -> float:
    """``90s``, ``15m``, ``12h``, ``7d``, ``2w`` (or plain seconds) as seconds."""
    match = _DURATION.match(text)
    if not match:
        raise InvalidParameterError(
            f"{what} {text!r} is not a duration: use a number and a unit, e.g. 90s, 15m, 12h, 7d, 2w"
        )
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def resolve_run(tc: TrackingClient, run_id: str) -> Run:
    """The run ``run_id``, or the one run whose id starts with it (lists show 8 characters)."""
    run_id = run_id.strip()
    try:
        return tc.get_run(run_id)
    except NotFoundError:
        if not (4 <= len(run_id) < 32 and _HEX.match(run_id)):
            raise
    matches = search_all_runs(tc, f"attributes.run_id LIKE '{run_id}%'", limit=6)
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise NotFoundError(f"no run with id {run_id!r}; see `loopml runs list`", run_id=run_id)
    shown = ", ".join(r.run_id for r in matches[:5])
    raise InvalidParameterError(
        f"run id prefix {run_id!r} is ambiguous: it matches {shown}"
        f"{' and more' if len(matches) > 5 else ''}; type more of the id"
    )


def search_all_runs(
    tc: TrackingClient, filter: str, *, limit: int | None = None, deleted_experiments: bool = False
) -> list[Run]:
    """Runs matching ``filter`` in every experiment (or only the deleted ones), deleted runs
    included, following pages up to ``limit`` runs."""
    store = tc.ctx.metadata
    ids = [
        e.experiment_id
        for e in store.list_experiments(include_deleted=True)
        if not deleted_experiments or str(e.lifecycle_stage) == "deleted"
    ]
    out: list[Run] = []
    token: str | None = None
    while ids:
        page_size = 5000 if limit is None else min(5000, limit - len(out))
        page = store.search_runs(ids, filter, None, page_size, token, True)
        out.extend(page)
        token = page.next_page_token
        if not token or (limit is not None and len(out) >= limit):
            break
    return out
