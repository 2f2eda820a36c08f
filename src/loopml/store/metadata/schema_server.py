"""Tables of the team server: users, API tokens, the audit trail and idempotency keys.

They attach to the one ``metadata`` of ``schema.py`` (migration ``0002``), so a server database
and a local one are the same database: ``loopml users add`` on the server's machine and the
server itself read and write the same rows.
"""

from __future__ import annotations

import sqlalchemy as sa

from loopml.store.metadata.schema import metadata

_MS = sa.BigInteger()
_AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

users = sa.Table(
    "users",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("created_ms", _MS, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
)

# Only the SHA-256 of a token is stored: a stolen database yields no usable token.
api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("token_id", sa.String(32), primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column(
        "user_name",
        sa.String(128),
        sa.ForeignKey("users.name", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("description", sa.String(256), nullable=True),
    sa.Column("created_ms", _MS, nullable=False),
    sa.Column("expires_ms", _MS, nullable=True),
    sa.Column("revoked_ms", _MS, nullable=True),
)

# Append-only: nothing in loopml updates or deletes a row of it.
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", _AUTO_ID, primary_key=True, autoincrement=True),
    sa.Column("ts_ms", _MS, nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("action", sa.String(128), nullable=False),
    sa.Column("target", sa.String(512), nullable=False),
    sa.Column("summary", sa.Text, nullable=False),  # JSON: before / after / request
    sa.Column("request_id", sa.String(64), nullable=True),
    sa.Index("ix_audit_log_ts_ms", "ts_ms"),
    sa.Index("ix_audit_log_actor_ts_ms", "actor", "ts_ms"),
)

# Keys of metric batches already stored, so a retried batch is written once.
idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("created_ms", _MS, nullable=False, index=True),
)
