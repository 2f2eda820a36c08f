"""Users, roles, API tokens and the audit trail: records and the interfaces over them.

Two implementations each: SQL (``auth_sql``, ``audit_sql``), used by the server and by the CLI on
the server's machine, and REST (``rest_admin``), used by the CLI of a team member. Roles grant
permissions cumulatively: a viewer reads; an editor also writes runs, data and models; an
approver also approves production promotions; an admin also manages users and tokens.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from loopml.errors import InvalidParameterError


class Role(StrEnum):
    VIEWER = "viewer"
    EDITOR = "editor"
    APPROVER = "approver"
    ADMIN = "admin"


class Permission(StrEnum):
    READ = "read"
    WRITE = "write"
    APPROVE = "approve"
    ADMIN = "admin"


_ORDER = [Role.VIEWER, Role.EDITOR, Role.APPROVER, Role.ADMIN]
_GRANTS = {Permission.READ: 0, Permission.WRITE: 1, Permission.APPROVE: 2, Permission.ADMIN: 3}


def role_allows(role: Role, permission: Permission) -> bool:
    return _ORDER.index(role) >= _GRANTS[permission]


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InvalidParameterError(
            f"unknown role {value!r}: use one of {', '.join(r.value for r in Role)}"
        ) from None


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: Role
    created_ms: int
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as listed: everything but the secret, which is never stored."""

    token_id: str
    user: str
    created_ms: int
    expires_ms: int | None
    revoked_ms: int | None
    description: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "token_id": self.token_id,
            "user": self.user,
            "created_ms": self.created_ms,
            "expires_ms": self.expires_ms,
            "revoked_ms": self.revoked_ms,
            "description": self.description,
        }


@dataclass(frozen=True, slots=True)
class NewToken:
    """A freshly created token: ``secret`` is shown once, here, and never again."""

    info: TokenInfo
    secret: str


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    ts_ms: int
    actor: str
    action: str
    target: str
    summary: dict[str, Any] = field(default_factory=dict)
    request_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ts_ms": self.ts_ms,
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "summary": self.summary,
            "request_id": self.request_id,
        }


class AuthStore(ABC):
    @abstractmethod
    def add_user(self, name: str, role: Role) -> User:
        """``ALREADY_EXISTS`` if the name is taken."""

    @abstractmethod
    def get_user(self, name: str) -> User: ...

    @abstractmethod
    def list_users(self) -> list[User]: ...

    @abstractmethod
    def update_user(
        self, name: str, *, role: Role | None = None, disabled: bool | None = None
    ) -> User: ...

    @abstractmethod
    def create_token(
        self, user: str, *, expires_ms: int | None = None, description: str | None = None
    ) -> NewToken:
        """A new random token for ``user``; only its hash is kept."""

    @abstractmethod
    def list_tokens(self, user: str | None = None) -> list[TokenInfo]: ...

    @abstractmethod
    def revoke_token(self, token_id: str) -> TokenInfo: ...


class AuditLog(ABC):
    """The append-only trail of who changed what. Later packages record their decisions here:

    ``audit.record("alice", "model.promote", "models:/churn/3", {"before": ..., "after": ...})``
    """

    @abstractmethod
    def record(
        self,
        actor: str,
        action: str,
        target: str,
        summary: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> None: ...

    @abstractmethod
    def query(
        self,
        *,
        since_ms: int | None = None,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        limit: int = 1000,
    ) -> list[AuditRecord]:
        """Newest first; ``action`` and ``target`` match as prefixes (``runs.`` finds all)."""
