"""Who is calling and what they may do: the one permission check every route declares.

The check is async and touches a thread only for database work (token lookup, the audit's
before-snapshot), so a read costs one thread hop: the route itself. Each route lists exactly one of :data:`READ`, :data:`WRITE`, :data:`APPROVE` or :data:`ADMIN`
in its dependencies (a test walks the routes to prove it). With auth off, every caller is the
``anonymous`` admin: the server then trusts its loopback interface, as a database would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from fastapi import Depends, Request

from loopml.errors import PermissionDeniedError, UnauthenticatedError
from loopml.server import audit
from loopml.server.state import ServerState
from loopml.store.metadata.auth import Permission, Role, role_allows

ANONYMOUS = "anonymous"


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    role: Role


async def server_state(request: Request) -> ServerState:  # async: no thread hop
    return state_of(request)


def state_of(request: Request) -> ServerState:
    state: ServerState = request.app.state.loopml
    return state


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthenticatedError(
            "this server requires a token: set LOOPML_TOKEN (send `Authorization: Bearer <token>`)"
        )
    return token.strip()


async def authenticate(request: Request) -> Principal:
    state = state_of(request)
    if not state.config.auth:
        principal = Principal(ANONYMOUS, Role.ADMIN)
    else:
        user = await anyio.to_thread.run_sync(state.auth.authenticate, _bearer(request))
        principal = Principal(user.name, user.role)
    request.state.principal = principal  # read by the audit middleware
    return principal


def require(permission: Permission) -> Any:
    """A dependency that admits callers whose role grants ``permission`` (else 401/403)."""

    async def check(request: Request) -> Principal:
        principal = await authenticate(request)
        if not role_allows(principal.role, permission):
            raise PermissionDeniedError(
                f"{principal.name!r} has role {principal.role.value}, which may not "
                f"{permission.value}: ask an admin for a role that may"
            )
        target = audit.begin(request)
        if target is not None:
            await anyio.to_thread.run_sync(
                audit.snapshot_before, request, state_of(request), target
            )
        return principal

    check.permission = permission  # type: ignore[attr-defined]
    return Depends(check)


READ = require(Permission.READ)
WRITE = require(Permission.WRITE)
APPROVE = require(Permission.APPROVE)
ADMIN = require(Permission.ADMIN)
