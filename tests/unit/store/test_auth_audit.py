"""Users, tokens and the audit log on SQL: secrets stored hashed, filters, append-only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from loopml.errors import AlreadyExistsError, NotFoundError, UnauthenticatedError
from loopml.store.metadata import schema_server as s
from loopml.store.metadata.audit_sql import MAX_SUMMARY, SqlAuditLog
from loopml.store.metadata.auth import Role
from loopml.store.metadata.auth_sql import SqlAuthStore, hash_token
from loopml.store.metadata.sql import SqlMetadataStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlMetadataStore]:
    st = SqlMetadataStore(f"sqlite:///{tmp_path / 'a.db'}")
    yield st
    st.close()


def test_tokens_are_stored_hashed_and_checked(store: SqlMetadataStore) -> None:
    auth = SqlAuthStore(store.engine)
    auth.add_user("alice", Role.EDITOR)
    with pytest.raises(AlreadyExistsError):
        auth.add_user("alice", Role.VIEWER)
    new = auth.create_token("alice", description="laptop")
    assert new.secret.startswith("lml_") and len(new.secret) > 40
    with store.engine.connect() as conn:
        stored = conn.execute(sa.select(s.api_tokens.c.token_hash)).scalar_one()
    assert stored == hash_token(new.secret) and new.secret not in stored
    assert auth.authenticate(new.secret).name == "alice"
    auth.revoke_token(new.info.token_id)
    with pytest.raises(UnauthenticatedError, match="revoked"):
        auth.authenticate(new.secret)
    old = auth.create_token("alice", expires_ms=1)
    with pytest.raises(UnauthenticatedError, match="expired"):
        auth.authenticate(old.secret)
    live = auth.create_token("alice")
    auth.update_user("alice", disabled=True)
    with pytest.raises(UnauthenticatedError, match="disabled"):
        auth.authenticate(live.secret)
    with pytest.raises(UnauthenticatedError):
        auth.authenticate("lml_forged")
    with pytest.raises(NotFoundError):
        auth.create_token("nobody")
    assert [t.user for t in auth.list_tokens("alice")] == ["alice"] * 3


def test_audit_filters_newest_first(store: SqlMetadataStore) -> None:
    audit = SqlAuditLog(store.engine)
    audit.record("alice", "runs.update", "run:1", {"before": {"status": "RUNNING"}}, "req-1")
    audit.record("bob", "model.promote", "models:/churn/3", {"after": {"alias": "champion"}})
    audit.record("alice", "runs.delete", "run:2", {"x": "y" * (2 * MAX_SUMMARY)})
    assert [r.target for r in audit.query()] == ["run:2", "models:/churn/3", "run:1"]
    assert [r.action for r in audit.query(actor="alice", action="runs.")] == [
        "runs.delete",
        "runs.update",
    ]
    assert audit.query(target="models:/churn")[0].summary == {"after": {"alias": "champion"}}
    assert audit.query(target="run:1")[0].request_id == "req-1"
    assert "truncated" in audit.query(target="run:2")[0].summary
    assert audit.query(since_ms=2**62) == []
