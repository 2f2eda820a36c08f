"""Users and API tokens in the metadata database.

A token is ``lml_`` + 32 random bytes (``secrets``), returned once; the database keeps its
SHA-256 only. Tokens are random and long, so a fast hash is enough (no password stretching),
and verifying one is a single indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from loopml.errors import (
    AlreadyExistsError,
    InvalidParameterError,
    NotFoundError,
    UnauthenticatedError,
)
from loopml.store.metadata import schema_server as s
from loopml.store.metadata.auth import AuthStore, NewToken, Role, TokenInfo, User
from loopml.store.metadata.engine import Transactions
from loopml.store.metadata.validation import check_name

TOKEN_PREFIX = "lml_"  # noqa: S105 (a prefix, not a secret)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _user(row: Any) -> User:
    return User(
        name=row.name, role=Role(row.role), created_ms=row.created_ms, disabled=bool(row.disabled)
    )


def _token(row: Any) -> TokenInfo:
    return TokenInfo(
        token_id=row.token_id,
        user=row.user_name,
        created_ms=row.created_ms,
        expires_ms=row.expires_ms,
        revoked_ms=row.revoked_ms,
        description=row.description,
    )


class SqlAuthStore(Transactions, AuthStore):
    """Shares the engine of a :class:`SqlMetadataStore` (already migrated)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- users ------------------------------------------------------------------------------
    def add_user(self, name: str, role: Role) -> User:
        check_name(name, "a user name")
        if len(name) > 128:
            raise InvalidParameterError(f"user name {name[:40]!r}... is longer than 128 characters")
        user = User(name=name, role=Role(role), created_ms=now_ms())

        def op(conn: Connection) -> None:
            if conn.execute(sa.select(s.users.c.name).where(s.users.c.name == name)).first():
                raise AlreadyExistsError(f"user {name!r} already exists", name=name)
            conn.execute(
                s.users.insert().values(name=name, role=user.role.value, created_ms=user.created_ms)
            )

        try:
            self._write(op)
        except sa.exc.IntegrityError as exc:
            raise AlreadyExistsError(f"user {name!r} already exists", name=name) from exc
        return user

    def get_user(self, name: str) -> User:
        def op(conn: Connection) -> User:
            row = conn.execute(sa.select(s.users).where(s.users.c.name == name)).first()
            if row is None:
                raise NotFoundError(f"no user {name!r}; see `loopml users list`", name=name)
            return _user(row)

        return self._read(op)

    def list_users(self) -> list[User]:
        return self._read(
            lambda conn: [
                _user(r) for r in conn.execute(sa.select(s.users).order_by(s.users.c.name))
            ]
        )

    def update_user(
        self, name: str, *, role: Role | None = None, disabled: bool | None = None
    ) -> User:
        values: dict[str, object] = {}
        if role is not None:
            values["role"] = Role(role).value
        if disabled is not None:
            values["disabled"] = bool(disabled)

        def op(conn: Connection) -> None:
            if not values:
                return
            res = conn.execute(s.users.update().where(s.users.c.name == name).values(**values))
            if res.rowcount == 0:
                raise NotFoundError(f"no user {name!r}; see `loopml users list`", name=name)

        self._write(op)
        return self.get_user(name)

    # -- tokens -----------------------------------------------------------------------------
    def create_token(
        self, user: str, *, expires_ms: int | None = None, description: str | None = None
    ) -> NewToken:
        self.get_user(user)
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        info = TokenInfo(
            token_id=uuid.uuid4().hex[:16],
            user=user,
            created_ms=now_ms(),
            expires_ms=expires_ms,
            revoked_ms=None,
            description=description,
        )

        def op(conn: Connection) -> None:
            conn.execute(
                s.api_tokens.insert().values(
                    token_id=info.token_id,
                    token_hash=hash_token(secret),
                    user_name=user,
                    description=description,
                    created_ms=info.created_ms,
                    expires_ms=expires_ms,
                )
            )

        self._write(op)
        return NewToken(info, secret)

    def list_tokens(self, user: str | None = None) -> list[TokenInfo]:
        q = sa.select(s.api_tokens).order_by(s.api_tokens.c.created_ms)
        if user is not None:
            q = q.where(s.api_tokens.c.user_name == user)
        return self._read(lambda conn: [_token(r) for r in conn.execute(q)])

    def revoke_token(self, token_id: str) -> TokenInfo:
        def op(conn: Connection) -> TokenInfo:
            conn.execute(
                s.api_tokens.update()
                .where(s.api_tokens.c.token_id == token_id, s.api_tokens.c.revoked_ms.is_(None))
                .values(revoked_ms=now_ms())
            )
            row = conn.execute(
                sa.select(s.api_tokens).where(s.api_tokens.c.token_id == token_id)
            ).first()
            if row is None:
                raise NotFoundError(f"no token {token_id!r}; see `loopml tokens list`")
            return _token(row)

        return self._write(op)

    def authenticate(self, secret: str) -> User:
        """The active user a token belongs to; ``UNAUTHENTICATED`` for anything else.

        The message never says which check failed beyond what the holder already knows.
        """
        q = (
            sa.select(s.api_tokens.c.expires_ms, s.api_tokens.c.revoked_ms, s.users)
            .join(s.users, s.users.c.name == s.api_tokens.c.user_name)
            .where(s.api_tokens.c.token_hash == hash_token(secret))
        )
        row = self._read(lambda conn: conn.execute(q).first())
        if row is None:
            raise UnauthenticatedError("the token is not valid: ask an admin for a new one")
        if row.revoked_ms is not None:
            raise UnauthenticatedError("the token was revoked: ask an admin for a new one")
        if row.expires_ms is not None and row.expires_ms <= now_ms():
            raise UnauthenticatedError("the token has expired: ask an admin for a new one")
        if row.disabled:
            raise UnauthenticatedError(f"user {row.name!r} is disabled")
        return _user(row)
