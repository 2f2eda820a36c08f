"""Users and API tokens (admin only), and ``whoami`` for anyone with a valid token."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from loopml.server.deps import ADMIN, READ, Principal, server_state
from loopml.server.responses import ok
from loopml.server.schemas import (
    NewTokenOut,
    TokenCreate,
    TokenOut,
    TokensOut,
    UserCreate,
    UserOut,
    UsersOut,
    UserUpdate,
    WhoAmIOut,
)
from loopml.server.state import ServerState
from loopml.store.metadata.auth import User

router = APIRouter(tags=["users"])
State = Annotated[ServerState, Depends(server_state)]


def user_out(u: User) -> dict[str, object]:
    return {
        "name": u.name,
        "role": u.role.value,
        "created_ms": u.created_ms,
        "disabled": u.disabled,
    }


@router.get("/whoami", name="users.whoami", responses={200: {"model": WhoAmIOut}})
def whoami(principal: Annotated[Principal, READ]) -> Response:
    return ok({"name": principal.name, "role": principal.role.value})


@router.post(
    "/users",
    name="users.create",
    dependencies=[ADMIN],
    status_code=201,
    responses={201: {"model": UserOut}},
)
def add_user(body: UserCreate, st: State) -> Response:
    return ok(user_out(st.auth.add_user(body.name, body.role)), 201)


@router.get("/users", name="users.list", dependencies=[ADMIN], responses={200: {"model": UsersOut}})
def list_users(st: State) -> Response:
    return ok({"users": [user_out(u) for u in st.auth.list_users()]})


@router.patch(
    "/users/{user_name}",
    name="users.update",
    dependencies=[ADMIN],
    responses={200: {"model": UserOut}},
)
def update_user(user_name: str, body: UserUpdate, st: State) -> Response:
    return ok(user_out(st.auth.update_user(user_name, role=body.role, disabled=body.disabled)))


@router.post(
    "/tokens",
    name="tokens.create",
    dependencies=[ADMIN],
    status_code=201,
    responses={201: {"model": NewTokenOut}},
)
def create_token(body: TokenCreate, st: State) -> Response:
    expires = (
        None
        if body.expires_in_s is None
        else time.time_ns() // 1_000_000 + body.expires_in_s * 1000
    )
    new = st.auth.create_token(body.user, expires_ms=expires, description=body.description)
    return ok({**new.info.to_dict(), "token": new.secret}, 201)


@router.get(
    "/tokens", name="tokens.list", dependencies=[ADMIN], responses={200: {"model": TokensOut}}
)
def list_tokens(st: State, user: Annotated[str | None, Query(max_length=128)] = None) -> Response:
    return ok({"tokens": [t.to_dict() for t in st.auth.list_tokens(user)]})


@router.delete(
    "/tokens/{token_id}",
    name="tokens.revoke",
    dependencies=[ADMIN],
    responses={200: {"model": TokenOut}},
)
def revoke_token(token_id: str, st: State) -> Response:
    return ok(st.auth.revoke_token(token_id).to_dict())
