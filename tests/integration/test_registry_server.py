"""The registry through a real server: the SDK and CLI unchanged, roles and policies enforced
where the caller is known."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import loopml
from loopml import registry
from loopml.cli.main import app
from loopml.errors import PermissionDeniedError
from loopml.registry._stores import registry_store
from loopml.store.metadata.registry_rest import RestRegistryStore
from loopml.tracking import context as tracking_context
from loopml.tracking import fluent
from tests.support.server import Server, running_server
from tests.unit.registry.conftest import log_package

runner = CliRunner()


@pytest.fixture
def remote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Server, pytest.MonkeyPatch]]:
    with running_server(tmp_path / "srv", auth=True) as server:
        root = tmp_path / "client"
        root.mkdir()
        (root / "loopml.toml").write_text("[loopml]\n")
        monkeypatch.chdir(root)
        monkeypatch.setenv("LOOPML_TRACKING_URI", server.url)
        monkeypatch.setenv("LOOPML_TOKEN", server.tokens["editor"])
        loopml.configure(root)
        fluent._experiment = None
        yield server, monkeypatch
        fluent._experiment = None
        if tracking_context._context is not None:
            tracking_context._context.close()
            tracking_context._context = None


def _as(server: Server, monkeypatch: pytest.MonkeyPatch, role: str) -> None:
    monkeypatch.setenv("LOOPML_TOKEN", server.tokens[role])
    loopml.configure(Path.cwd())


def test_registry_workflow_through_the_server(
    remote: tuple[Server, pytest.MonkeyPatch], tmp_path: Path
) -> None:
    server, monkeypatch = remote
    uri = log_package(tmp_path / "pk", tags={"loopml.git.commit": "abc"})
    assert isinstance(registry_store(), RestRegistryStore)
    mv = registry.register_model(uri, "churn", tags={"stage": "dev"})
    assert (mv.version, mv.user, mv.metrics) == (1, "editor-user", {"auc": 0.9})
    registry.register_model(uri, "churn")
    registry.set_alias("churn", "challenger", 2)
    assert registry.get_model_version("models:/churn@challenger").version == 2
    assert [m.name for m in registry.search_models("name LIKE 'ch%'")] == ["churn"]
    from loopml.registry.lineage import lineage

    assert lineage("models:/churn/1")["code"]["commit"] == "abc"

    with pytest.raises(PermissionDeniedError, match="approve"):
        registry.set_approval_policy("churn", "champion")  # an editor may not
    _as(server, monkeypatch, "approver")
    registry.set_approval_policy("churn", "champion")
    _as(server, monkeypatch, "editor")
    with pytest.raises(PermissionDeniedError, match="protected"):
        registry.set_alias("churn", "champion", 1)
    pending = registry.promote("churn", 1, "champion", reason="ready")
    assert not pending.moved
    with pytest.raises(PermissionDeniedError, match="may not approve"):
        registry.approve_promotion("churn", 1, "champion")
    with pytest.raises(PermissionDeniedError):
        registry.promote("churn", 1, "champion", approve=True)
    _as(server, monkeypatch, "approver")
    done = registry.approve_promotion("churn", 1, "champion", reason="ok")
    assert done.decided_by == "approver-user" and done.requested_by == "editor-user"
    assert registry.get_model_version("models:/churn@champion").version == 1
    actions = [(e.action, e.actor) for e in registry.model_history("churn")]
    assert ("promotion.approve", "approver-user") in actions

    with server.client("admin") as admin:
        audit = admin.get("/api/v1/audit", params={"action": "registry."}).json()
    assert {"registry.promotions.decide", "registry.aliases.set"} <= {
        r["action"] for r in audit["records"]
    }


def test_cli_works_remotely(remote: tuple[Server, pytest.MonkeyPatch], tmp_path: Path) -> None:
    uri = log_package(tmp_path / "pk")
    result = runner.invoke(app, ["models", "register", uri, "churn"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["models", "alias", "churn", "champion", "1"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["models", "show", "churn"])
    assert result.exit_code == 0 and "@champion" in result.output, result.output
    result = runner.invoke(app, ["models", "lineage", "models:/churn@champion"])
    assert result.exit_code == 0 and "models:/churn/1" in result.output, result.output
    card = tmp_path / "card.md"
    result = runner.invoke(app, ["models", "card", "models:/churn@champion", "-o", str(card)])
    assert result.exit_code == 0, result.output
    assert "alias.set v1 @champion" in card.read_text()
    result = runner.invoke(app, ["models", "show", "nope"])
    assert result.exit_code == 1 and "no registered model" in result.output
