"""Deployments: versioned configurations, promote, rollback, the audit trail and the CLI."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from loopml.cli.main import app
from loopml.errors import (
    AlreadyExistsError,
    InvalidParameterError,
    InvalidStateError,
    NotFoundError,
)
from loopml.serving import deployments as d
from loopml.serving.config import DeploymentConfig
from loopml.store.metadata.deployments_base import RouteCounter

V6, V7, V8 = "models:/churn/6", "models:/churn/7", "models:/churn/8"


def routes(record: d.DeploymentRecord) -> list[tuple[str, str, int]]:
    return [(r["name"], r["model"], r["weight"]) for r in record.config["routes"]]


def test_canary_update_promote_and_rollback(project: Path) -> None:
    first = d.create_deployment("churn-prod", V6, canary=V7, canary_weight=10)
    assert first.version == 1 and routes(first) == [("main", V6, 90), ("canary", V7, 10)]
    shadowed = d.update_deployment("churn-prod", shadows=[V8])
    assert shadowed.version == 2 and shadowed.config["shadows"] == [V8]
    assert routes(shadowed) == routes(first)
    assert d.update_deployment("churn-prod", shadows=[V8]).version == 2  # no change, no version
    promoted = d.promote_deployment("churn-prod")
    assert routes(promoted) == [("main", V7, 100)] and promoted.config["shadows"] == [V8]
    back = d.rollback_deployment("churn-prod")
    assert back.version == 4 and back.config == shadowed.config
    assert d.get_deployment("churn-prod").version == 4
    history = d.deployment_history("churn-prod")
    assert [h.version for h in history] == [4, 3, 2, 1] and history[0].current
    assert [h.message for h in history] == ["rollback to 2", "promote canary", "update", "create"]
    assert d.rollback_deployment("churn-prod", to_version=1).config == first.config


def test_ab_test_with_sticky_header(project: Path) -> None:
    rec = d.create_deployment("churn-ab", V6, ab=V7, split=30, sticky_header="X-User-Id")
    assert routes(rec) == [("a", V6, 70), ("b", V7, 30)]
    assert DeploymentConfig.from_dict(rec.config).kind == "ab"
    assert routes(d.promote_deployment("churn-ab")) == [("main", V7, 100)]


def test_every_change_is_audited(project: Path) -> None:
    import loopml
    from loopml.store.metadata.audit_sql import SqlAuditLog
    from loopml.tracking.context import get_context

    d.create_deployment("svc", V6)
    d.update_deployment("svc", canary=V7, canary_weight=20)
    d.promote_deployment("svc")
    d.rollback_deployment("svc")
    assert loopml is not None
    log = SqlAuditLog(get_context().metadata.engine)  # type: ignore[attr-defined]
    actions = [r.action for r in log.query(target="deployments/svc")]
    assert actions == [
        "deployment.rollback",
        "deployment.promote",
        "deployment.update",
        "deployment.create",
    ]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"model": "churn"}, InvalidParameterError),
        ({"model": V6, "canary": V7, "canary_weight": 100}, InvalidParameterError),
        ({"model": V6, "canary": V7, "ab": V8}, InvalidParameterError),
        ({"model": V6, "sticky_header": "bad header"}, InvalidParameterError),
        ({"model": V6, "shadows": ["nope"]}, InvalidParameterError),
    ],
)
def test_bad_configurations_are_refused(
    project: Path, kwargs: dict[str, object], error: type
) -> None:
    with pytest.raises(error):
        d.create_deployment("bad", **kwargs)  # type: ignore[arg-type]


def test_names_states_and_counters(project: Path) -> None:
    d.create_deployment("one", V6)
    with pytest.raises(AlreadyExistsError):
        d.create_deployment("one", V7)
    with pytest.raises(InvalidParameterError):
        d.create_deployment("has space", V6)
    with pytest.raises(NotFoundError):
        d.get_deployment("nope")
    with pytest.raises(InvalidStateError):
        d.promote_deployment("one")
    with pytest.raises(InvalidStateError):
        d.rollback_deployment("one")
    store = d.deployment_store()
    store.add_counters("one", [RouteCounter("main", V6, 3, 1, 6.0)])
    store.add_counters("one", [RouteCounter("main", V6, 2, 0, 4.0)])
    (c,) = d.deployment_counters("one")
    assert (c.requests, c.errors, c.latency_ms_sum) == (5, 1, 10.0)
    d.delete_deployment("one")
    assert d.list_deployments() == []


def test_cli_create_update_show_promote_rollback(project: Path) -> None:
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    run("deploy", "create", "churn-prod", "--model", V6, "--canary", V7, "--canary-weight", "10")
    run("deploy", "update", "churn-prod", "--shadow", V8)
    shown = orjson.loads(run("deploy", "show", "churn-prod", "--json", "--history"))
    assert shown["version"] == 2 and shown["config"]["shadows"] == [V8]
    assert len(shown["history"]) == 2
    assert "canary" in run("deploy", "show", "churn-prod")
    assert "churn-prod" in run("deploy", "list")
    run("deploy", "promote", "churn-prod")
    assert orjson.loads(run("deploy", "list", "--json"))[0]["config"]["routes"][0]["model"] == V7
    run("deploy", "rollback", "churn-prod")
    out = runner.invoke(app, ["deploy", "create", "x", "--model", "nope"])
    assert out.exit_code == 2 and "not a stored model" in out.output


def test_config_numbers_have_upper_bounds() -> None:
    """A config is stored as JSON: an integer past 64 bits must be a 400, not a 500."""
    route = [{"name": "main", "model": "models:/m/1", "weight": 100}]
    with pytest.raises(InvalidParameterError, match="workers must be 1-256"):
        DeploymentConfig.from_dict({"routes": route, "workers": 2**70})
    with pytest.raises(InvalidParameterError, match="max_batch_size must be"):
        DeploymentConfig.from_dict({"routes": route, "batching": {"max_batch_size": 2**70}})
