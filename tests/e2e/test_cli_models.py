"""``loopml models`` against a real project: registry, aliases, approvals, lineage, cards."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from loopml.cli.main import app
from tests.unit.registry.conftest import log_package

runner = CliRunner()


def invoke(*args: str | os.PathLike[str]) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def ok(*args: str | os.PathLike[str]) -> str:
    code, output = invoke(*args)
    assert code == 0, output
    return output


def as_json(*args: str) -> Any:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout)


@pytest.fixture
def churn(project: Path, tmp_path: Path) -> list[str]:
    """Model 'churn' with two versions (auc 0.8 then 0.9), tagged team=growth."""
    uris = [
        log_package(
            tmp_path / "pk",
            auc=auc,
            tags={"loopml.git.commit": "abc123", "loopml.git.dirty": "false"},
        )
        for auc in (0.8, 0.9)
    ]
    for uri in uris:
        ok("models", "register", uri, "churn")
    from loopml import registry

    registry.set_registered_model_tags("churn", {"team": "growth"})
    return uris


def test_list_show_versions(churn: list[str]) -> None:
    assert "churn" in ok("models", "list")
    assert "No models match" in ok("models", "list", "--filter", "tags.team = 'risk'")
    listed = as_json("models", "list", "--filter", "name LIKE 'ch%'")
    assert [m["name"] for m in listed["models"]] == ["churn"]
    versions = as_json("models", "versions", "churn")["versions"]
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[0]["metrics"] == {"auc": 0.9}
    out = ok("models", "versions", "churn")
    assert "READY" in out and "0.9" in out
    shown = ok("models", "show", "churn")
    assert "version.create" in shown and "team=growth" in shown


def test_alias_promote_approve_reject(churn: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOPML_USER", "ana")
    assert "version 1" in ok("models", "alias", "churn", "challenger", "1")
    ok("models", "policy", "churn", "--protect", "champion", "--approver", "bob")
    code, out = invoke("models", "alias", "churn", "champion", "2")
    assert code == 1 and "protected by an approval policy" in out and "approve" in out
    assert "pending" in ok("models", "promote", "churn", "2", "--to", "champion", "-r", "auc")
    assert "pending" in ok("models", "show", "churn")
    code, out = invoke("models", "approve", "churn", "2", "--to", "champion")
    assert code == 1 and "ask bob" in out
    code, out = invoke("models", "promote", "churn", "2", "--to", "champion", "--approve")
    assert code == 1 and "ask bob" in out
    monkeypatch.setenv("LOOPML_USER", "bob")
    assert "Approved" in ok("models", "approve", "churn", "2", "--to", "champion")
    code, out = invoke("models", "approve", "churn", "2", "--to", "champion")
    assert code == 1 and "no pending request" in out
    ok("models", "promote", "churn", "1", "--to", "champion")
    code, out = invoke("models", "reject", "churn", "1", "--to", "champion")
    assert code == 2 and "--reason" in out
    ok("models", "reject", "churn", "1", "--to", "champion", "--reason", "worse auc")
    shown = as_json("models", "show", "churn")
    assert shown["aliases"] == {"challenger": 1, "champion": 2}
    actions = [e["action"] for e in shown["history"]]
    assert "promotion.approve" in actions and "promotion.reject" in actions
    assert "worse auc" in ok("models", "show", "churn")
    assert "bob" in ok("models", "policy", "churn")
    ok("models", "policy", "churn", "--unprotect", "champion")
    ok("models", "alias", "churn", "champion", "--delete")


def test_lineage_tree_and_json(churn: list[str]) -> None:
    ok("models", "alias", "churn", "champion", "2")
    tree = ok("models", "lineage", "models:/churn@champion")
    assert "models:/churn/2" in tree and "abc123" in tree and "auc = 0.9" in tree
    body = as_json("models", "lineage", "models:/churn@champion")
    assert body["run"]["run_id"] == churn[1].split("/")[1]


def test_card_without_data(churn: list[str], tmp_path: Path) -> None:
    out = tmp_path / "card.html"
    ok("models", "card", "models:/churn/2", "-o", out)
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and "churn" in html
    ok("models", "card", "models:/churn/2", "-o", tmp_path / "card.md")
    assert (tmp_path / "card.md").read_text().startswith("# Model card")


def test_archive_restore_delete(churn: list[str]) -> None:
    ok("models", "alias", "churn", "champion", "2")
    code, out = invoke("models", "archive", "churn", "2")
    assert code == 1 and "holds alias" in out
    ok("models", "archive", "churn", "1")
    ok("models", "restore", "churn", "1")
    ok("models", "delete", "churn", "1")
    assert [v["version"] for v in as_json("models", "versions", "churn")["versions"]] == [2]
    code, out = invoke("models", "delete", "churn")
    assert code == 2 and "--yes" in out
    ok("models", "delete", "churn", "--yes")
    assert "No registered models" in ok("models", "list")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("models", "show", "nope"), 1, "no registered model named 'nope'"),
        (("models", "alias", "churn", "champion", "9"), 1, "has no version 9"),
        (("models", "alias", "churn", "latest", "1"), 2, "reserved"),
        (("models", "alias", "churn", "champion"), 2, "give the version"),
        (
            ("models", "register", "runs:/00000000000000000000000000000000/model", "x"),
            1,
            "log_model",
        ),
        (("models", "lineage", "runs:/x/model"), 2, "not a model URI"),
        (("models", "lineage", "models:/churn@nope"), 1, "no alias 'nope'"),
        (("models", "list", "--filter", "metrics.auc > 1"), 2, "unknown name"),
        (("models", "card", "models:/churn/1", "-o", "card.pdf"), 2, ".html or .md"),
        (("models", "approve", "churn", "1", "--to", "champion"), 1, "no pending request"),
    ],
)
def test_bad_input_is_one_clear_line(
    churn: list[str], args: tuple[str, ...], code: int, message: str
) -> None:
    got, out = invoke(*args)
    assert got == code, out
    assert out.startswith("error: ") and message in out
