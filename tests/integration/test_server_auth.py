"""Auth: each role gets 403 where it must, bad tokens 401, and secrets never leak."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from loopml.errors import InvalidParameterError
from loopml.server import ServerConfig
from loopml.server.app import create_app
from loopml.server.deps import ADMIN, APPROVE, READ, WRITE
from loopml.store.metadata.audit_sql import SqlAuditLog
from loopml.store.metadata.auth import Role
from loopml.store.metadata.auth_sql import SqlAuthStore
from loopml.store.metadata.sql import SqlMetadataStore
from tests.support.server import Server, running_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with running_server(tmp_path, auth=True) as s:
        yield s


def test_every_api_route_checks_one_permission(tmp_path: Path) -> None:
    app = create_app(ServerConfig(f"sqlite:///{tmp_path / 'a.db'}", str(tmp_path / "o")))
    checks = {id(d.dependency) for d in (READ, WRITE, APPROVE, ADMIN)}
    for route in app.routes:
        path = getattr(route, "path", "")
        if not path.startswith("/api/v1"):
            continue
        deps = {id(d.call) for d in route.dependant.dependencies}  # type: ignore[attr-defined]
        assert len(deps & checks) == 1, f"{path} must declare exactly one permission"


def test_roles_matrix(server: Server) -> None:
    with server.client("editor") as editor:
        exp = editor.post("/api/v1/experiments", json={"name": "e"}).json()["experiment_id"]
        run = editor.post("/api/v1/runs", json={"experiment_id": exp}).json()
        assert run["user"] == "editor-user"  # the token's holder, not what the client claims
        assert editor.post("/api/v1/users", json={"name": "x", "role": "viewer"}).status_code == 403
        assert editor.get("/api/v1/tokens").status_code == 403
        assert editor.get("/api/v1/audit").status_code == 200
    with server.client("viewer") as viewer:
        assert viewer.get(f"/api/v1/runs/{run['run_id']}").status_code == 200
        denied = viewer.post("/api/v1/experiments", json={"name": "v"})
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "PERMISSION_DENIED"
        assert (
            viewer.post(f"/api/v1/runs/{run['run_id']}/tags", json={"tags": {"a": "b"}}).status_code
            == 403
        )
        assert viewer.post("/api/v1/metrics", json={"points": []}).status_code == 403
        assert viewer.post("/api/v1/objects", content=b"x").status_code == 403
    with server.client("approver") as approver:
        assert approver.post("/api/v1/experiments", json={"name": "a"}).status_code == 201
        assert approver.get("/api/v1/users").status_code == 403
    with server.client("admin") as admin:
        assert (
            admin.post("/api/v1/users", json={"name": "bob", "role": "viewer"}).status_code == 201
        )
        assert {u["name"] for u in admin.get("/api/v1/users").json()["users"]} >= {"bob"}
    with server.client() as nobody:
        missing = nobody.get("/api/v1/experiments")
        assert missing.status_code == 401 and missing.json()["error"]["code"] == "UNAUTHENTICATED"
        assert nobody.get("/health").status_code == 200
    with server.client(token="lml_not-a-real-token") as forged:
        assert forged.get("/api/v1/experiments").status_code == 401


def test_revoked_and_expired_tokens_get_401(server: Server) -> None:
    with server.client("admin") as admin:
        made = admin.post("/api/v1/tokens", json={"user": "viewer-user"}).json()
        with server.client(token=made["token"]) as holder:
            assert holder.get("/api/v1/whoami").json() == {"name": "viewer-user", "role": "viewer"}
            assert admin.delete(f"/api/v1/tokens/{made['token_id']}").json()["revoked_ms"]
            assert holder.get("/api/v1/whoami").status_code == 401
    store = SqlMetadataStore(server.db_url)
    expired = SqlAuthStore(store.engine).create_token("editor-user", expires_ms=1)
    with server.client(token=expired.secret) as holder:
        answer = holder.get("/api/v1/whoami")
        assert answer.status_code == 401 and "expired" in answer.json()["error"]["message"]
    store.close()


def test_tokens_never_reach_logs_or_the_audit_log(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with server.client("admin") as admin:
        made = admin.post("/api/v1/tokens", json={"user": "editor-user", "description": "ci"})
        secret = made.json()["token"]
        admin.post("/api/v1/users", json={"name": "carol", "role": "editor"})
    with server.client(token=secret) as holder:
        holder.post("/api/v1/experiments", json={"name": "audited"})
    store = SqlMetadataStore(server.db_url)
    records = SqlAuditLog(store.engine).query()
    store.close()
    text = repr([r.to_dict() for r in records])
    actions = {r.action for r in records}
    assert {"tokens.create", "users.create", "experiments.create"} <= actions
    assert next(r for r in records if r.action == "experiments.create").actor == "editor-user"
    for role_token in [secret, *server.tokens.values()]:
        assert role_token not in text
        assert role_token not in caplog.text


def test_refuses_network_host_without_auth(tmp_path: Path) -> None:
    config = ServerConfig("sqlite:///x.db", "objs", host="0.0.0.0")
    with pytest.raises(InvalidParameterError, match="--auth"):
        config.check()
    ServerConfig("sqlite:///x.db", "objs", host="0.0.0.0", insecure=True).check()
    ServerConfig("sqlite:///x.db", "objs", host="0.0.0.0", auth=True).check()
    ServerConfig("sqlite:///x.db", "objs", host="::1").check()


def test_roles_are_cumulative() -> None:
    from loopml.store.metadata.auth import Permission, role_allows

    assert role_allows(Role.ADMIN, Permission.APPROVE)
    assert not role_allows(Role.EDITOR, Permission.APPROVE)
    assert not role_allows(Role.VIEWER, Permission.WRITE)
