"""``loopml users`` and ``loopml tokens``: who may use a team server, and their API tokens.

Against a server (``LOOPML_TRACKING_URI``) they call its admin API with ``LOOPML_TOKEN``; on the
server's machine, without a tracking URI, they write the database directly, which is how the
first admin and their token are created.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from loopml.cli._common import JsonOpt, ProjectOpt, parse_duration, use_project
from loopml.cli._output import console, esc, human_time, new_table, print_json

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from loopml.store.metadata._http import HttpClient
    from loopml.store.metadata.auth import AuditLog, AuthStore

app = typer.Typer(help="Manage the users of a team server (admin).", no_args_is_help=True)
tokens_app = typer.Typer(help="Create, list and revoke API tokens (admin).", no_args_is_help=True)


@contextmanager
def _connection() -> Iterator[tuple[HttpClient | None, Engine | None]]:
    from loopml.tracking.context import get_context, is_server_url

    settings = get_context().settings
    if is_server_url(settings.metadata_url):
        from loopml.store.metadata._http import HttpClient

        http = HttpClient(settings.metadata_url)
        try:
            yield http, None
        finally:
            http.close()
        return
    from loopml.store.metadata.sql import SqlMetadataStore

    store = SqlMetadataStore(settings.db_url)
    try:
        yield None, store.engine
    finally:
        store.close()


@contextmanager
def auth_store() -> Iterator[AuthStore]:
    """Users and tokens of the server (over HTTP) or of the local database."""
    with _connection() as (http, engine):
        if http is not None:
            from loopml.store.metadata.rest_admin import RestAuthStore

            yield RestAuthStore(http)
        else:
            from loopml.store.metadata.auth_sql import SqlAuthStore

            assert engine is not None
            yield SqlAuthStore(engine)


@contextmanager
def audit_log() -> Iterator[AuditLog]:
    """The audit log of the server (over HTTP) or of the local database."""
    with _connection() as (http, engine):
        if http is not None:
            from loopml.store.metadata.rest_admin import RestAuditLog

            yield RestAuditLog(http)
        else:
            from loopml.store.metadata.audit_sql import SqlAuditLog

            assert engine is not None
            yield SqlAuditLog(engine)


@app.command("add")
def add_user(
    name: Annotated[str, typer.Argument(help="The user's name.")],
    role: Annotated[
        str, typer.Option("--role", help="viewer, editor, approver or admin.")
    ] = "viewer",
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """Add a user with a role."""
    use_project(project)
    from loopml.store.metadata.auth import parse_role

    with auth_store() as auth:
        user = auth.add_user(name, parse_role(role))
    if json:
        print_json({"name": user.name, "role": user.role.value})
        return
    console().print(f"added user [bold]{esc(user.name)}[/] ({user.role.value})")
    console().print(f"create a token for them: loopml tokens create --user {esc(user.name)}")


@app.command("list")
def list_users(json: JsonOpt = False, project: ProjectOpt = None) -> None:
    """List users and their roles."""
    use_project(project)
    with auth_store() as auth:
        users = auth.list_users()
    if json:
        print_json([{"name": u.name, "role": u.role.value, "disabled": u.disabled} for u in users])
        return
    table = new_table("name", "role", "created", "disabled")
    for u in users:
        table.add_row(
            esc(u.name), u.role.value, human_time(u.created_ms), "yes" if u.disabled else ""
        )
    console().print(table)


@tokens_app.command("create")
def create_token(
    user: Annotated[str, typer.Option("--user", help="Whose token it is.")],
    expires: Annotated[
        str | None, typer.Option("--expires", help="Lifetime, e.g. 30d or 12h (default: never).")
    ] = None,
    description: Annotated[
        str | None, typer.Option("--description", help="What it is for.")
    ] = None,
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """Create a token; it is printed once and cannot be shown again."""
    use_project(project)
    expires_ms = None
    if expires:
        expires_ms = time.time_ns() // 1_000_000 + int(parse_duration(expires, "--expires") * 1000)
    with auth_store() as auth:
        new = auth.create_token(user, expires_ms=expires_ms, description=description)
    if json:
        print_json({**new.info.to_dict(), "token": new.secret})
        return
    console().print(f"token {new.info.token_id} for {esc(user)}; it is shown only this once:")
    typer.echo(new.secret)
    console().print("use it with: export LOOPML_TOKEN=<token>")


@tokens_app.command("list")
def list_tokens(
    user: Annotated[str | None, typer.Option("--user", help="Only this user's tokens.")] = None,
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """List tokens (never their secrets)."""
    use_project(project)
    with auth_store() as auth:
        tokens = auth.list_tokens(user)
    if json:
        print_json([t.to_dict() for t in tokens])
        return
    table = new_table("id", "user", "created", "expires", "state", "description")
    now = time.time_ns() // 1_000_000
    for t in tokens:
        state = (
            "revoked"
            if t.revoked_ms
            else "expired"
            if t.expires_ms is not None and t.expires_ms <= now
            else "active"
        )
        table.add_row(
            t.token_id,
            esc(t.user),
            human_time(t.created_ms),
            human_time(t.expires_ms) if t.expires_ms else "never",
            state,
            esc(t.description or ""),
        )
    console().print(table)


@tokens_app.command("revoke")
def revoke_token(
    token_id: Annotated[str, typer.Argument(help="The token's id (from `loopml tokens list`).")],
    project: ProjectOpt = None,
) -> None:
    """Revoke a token: requests with it get 401 from now on."""
    use_project(project)
    with auth_store() as auth:
        auth.revoke_token(token_id)
    console().print(f"revoked token {esc(token_id)}")
