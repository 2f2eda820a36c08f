"""Users, tokens and the audit log over HTTP, for ``loopml users/tokens/audit`` on a team
member's machine (the server's own machine may use the SQL stores directly)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from loopml.store.metadata._http import HttpClient
from loopml.store.metadata.auth import (
    AuditLog,
    AuditRecord,
    AuthStore,
    NewToken,
    Role,
    TokenInfo,
    User,
)

API = "/api/v1"


def _user(d: dict[str, Any]) -> User:
    return User(d["name"], Role(d["role"]), d["created_ms"], d["disabled"])


def _token(d: dict[str, Any]) -> TokenInfo:
    return TokenInfo(
        d["token_id"],
        d["user"],
        d["created_ms"],
        d["expires_ms"],
        d["revoked_ms"],
        d["description"],
    )


class RestAuthStore(AuthStore):
    def __init__(self, http: HttpClient) -> None:
        self.http = http

    def add_user(self, name: str, role: Role) -> User:
        return _user(self.http.json("POST", f"{API}/users", json={"name": name, "role": role}))

    def get_user(self, name: str) -> User:
        for user in self.list_users():
            if user.name == name:
                return user
        from loopml.errors import NotFoundError

        raise NotFoundError(f"no user {name!r}; see `loopml users list`")

    def list_users(self) -> list[User]:
        return [_user(u) for u in self.http.json("GET", f"{API}/users")["users"]]

    def update_user(
        self, name: str, *, role: Role | None = None, disabled: bool | None = None
    ) -> User:
        body = {"role": role, "disabled": disabled}
        return _user(self.http.json("PATCH", f"{API}/users/{quote(name, safe='')}", json=body))

    def create_token(
        self, user: str, *, expires_ms: int | None = None, description: str | None = None
    ) -> NewToken:
        import time

        expires_in = None
        if expires_ms is not None:
            expires_in = max(1, (expires_ms - time.time_ns() // 1_000_000) // 1000)
        body = {"user": user, "expires_in_s": expires_in, "description": description}
        answer = self.http.json("POST", f"{API}/tokens", json=body)
        return NewToken(_token(answer), answer["token"])

    def list_tokens(self, user: str | None = None) -> list[TokenInfo]:
        params = {"user": user} if user else None
        return [_token(t) for t in self.http.json("GET", f"{API}/tokens", params=params)["tokens"]]

    def revoke_token(self, token_id: str) -> TokenInfo:
        return _token(self.http.json("DELETE", f"{API}/tokens/{quote(token_id, safe='')}"))


class RestAuditLog(AuditLog):
    """Reads the server's audit log; records are written by the server, never by clients."""

    def __init__(self, http: HttpClient) -> None:
        self.http = http

    def record(
        self,
        actor: str,
        action: str,
        target: str,
        summary: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> None:
        from loopml.errors import PermissionDeniedError

        raise PermissionDeniedError(
            "clients cannot write the audit log: the server records every change it makes"
        )

    def query(
        self,
        *,
        since_ms: int | None = None,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        limit: int = 1000,
    ) -> list[AuditRecord]:
        params = {
            k: v
            for k, v in {
                "since_ms": since_ms,
                "actor": actor,
                "action": action,
                "target": target,
                "limit": limit,
            }.items()
            if v is not None
        }
        records = self.http.json("GET", f"{API}/audit", params=params)["records"]
        return [AuditRecord(**r) for r in records]
