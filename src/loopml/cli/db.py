"""``loopml db``: the metadata database's schema revision, and migrating it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from loopml.cli._common import JsonOpt, ProjectOpt, use_project
from loopml.cli._output import console, esc, print_json

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

app = typer.Typer(help="Inspect and migrate the metadata database.", no_args_is_help=True)


def _engine() -> tuple[Engine, str]:
    """An engine on the project's database that does not migrate it, and its printable URL."""
    import sqlalchemy as sa

    from loopml.store.metadata.engine import create_engine
    from loopml.tracking.context import get_context

    url = get_context().settings.db_url
    engine = create_engine(url)
    return engine, sa.make_url(url).render_as_string(hide_password=True)


@app.command("current")
def current(json: JsonOpt = False, project: ProjectOpt = None) -> None:
    """Print the schema revision of the database and whether it is up to date."""
    use_project(project)
    from loopml.store.metadata.engine import retrying
    from loopml.store.metadata.migrate import current_revisions, describe, heads

    engine, shown = _engine()
    try:

        def read() -> frozenset[str]:
            with engine.connect() as conn:
                return current_revisions(conn)

        revisions = retrying(read)
    finally:
        engine.dispose()
    head = heads()
    if json:
        print_json(
            {
                "url": shown,
                "current": sorted(revisions),
                "heads": sorted(head),
                "up_to_date": revisions == head,
            }
        )
        return
    out = console()
    out.print(f"database: {esc(shown)}")
    if revisions == head:
        out.print(f"revision: [bold]{describe(revisions)}[/] (head, up to date)")
    else:
        out.print(
            f"revision: [bold]{describe(revisions) or 'none (empty database)'}[/]; "
            f"head: {describe(head)}. Run `loopml db upgrade` (loopml also upgrades on first use)"
        )


@app.command("upgrade")
def upgrade(project: ProjectOpt = None) -> None:
    """Apply pending schema migrations; prints the revision before and after."""
    use_project(project)
    from loopml.store.metadata.migrate import upgrade as run_upgrade

    engine, shown = _engine()
    try:
        before, after = run_upgrade(engine)
    finally:
        engine.dispose()
    out = console()
    out.print(f"database: {esc(shown)}")
    if before == after:
        out.print(f"already up to date at revision [bold]{after}[/]")
    else:
        out.print(f"upgraded: {before or 'empty'} → [bold]{after}[/]")
