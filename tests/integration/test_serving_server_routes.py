"""Deployments through ``loopml server``'s REST API: create, change, list, show, history."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.server import running_server

CONFIG = {"routes": [{"name": "main", "model": "models:/churn/1", "weight": 100}]}


def test_deployment_routes(tmp_path: Path) -> None:
    with running_server(tmp_path) as server, server.client() as client:
        r = client.post("/api/v1/deployments", json={"name": "svc", "config": CONFIG})
        assert r.status_code == 201, r.text
        assert r.json()["version"] == 1 and r.json()["config"]["batching"]["enabled"] is True
        assert (
            client.post("/api/v1/deployments", json={"name": "svc", "config": CONFIG}).status_code
            == 409
        )
        canary = {
            "routes": [
                {"name": "main", "model": "models:/churn/1", "weight": 90},
                {"name": "canary", "model": "models:/churn/2", "weight": 10},
            ]
        }
        r = client.post("/api/v1/deployments/svc/versions", json={"config": canary})
        assert r.status_code == 201 and r.json()["version"] == 2
        bad = {"routes": [{"name": "main", "model": "models:/churn/1", "weight": 50}]}
        r = client.post("/api/v1/deployments/svc/versions", json={"config": bad})
        assert r.status_code == 400 and "add up to 50" in r.json()["error"]["message"]
        shown = client.get("/api/v1/deployments/svc").json()
        assert shown["version"] == 2 and shown["counters"] == []
        assert [
            v["version"] for v in client.get("/api/v1/deployments/svc/versions").json()["versions"]
        ] == [2, 1]
        assert [d["name"] for d in client.get("/api/v1/deployments").json()["deployments"]] == [
            "svc"
        ]
        assert client.get("/api/v1/deployments/nope").status_code == 404
        audit = client.get("/api/v1/audit").json()
        assert any(
            "deployments" in str(rec.get("target", ""))
            for rec in audit.get("records", audit if isinstance(audit, list) else [])
        )


def test_the_sdk_against_a_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import loopml
    from loopml.serving import deployments as d
    from loopml.store.metadata.deployments_base import RouteCounter
    from loopml.tracking import context as tracking_context

    with running_server(tmp_path / "srv", auth=True) as server:
        root = tmp_path / "client"
        root.mkdir()
        (root / "loopml.toml").write_text("[loopml]\n")
        monkeypatch.chdir(root)
        monkeypatch.setenv("LOOPML_TRACKING_URI", server.url)
        monkeypatch.setenv("LOOPML_TOKEN", server.tokens["admin"])
        loopml.configure(root)
        try:
            d.create_deployment("svc", "models:/churn/1", canary="models:/churn/2")
            d.update_deployment("svc", shadows=["models:/churn/3"])
            assert d.promote_deployment("svc").config["routes"][0]["model"] == "models:/churn/2"
            back = d.rollback_deployment("svc")
            assert back.version == 4 and len(back.config["routes"]) == 2
            assert [v.version for v in d.deployment_history("svc")] == [4, 3, 2, 1]
            d.deployment_store().add_counters(
                "svc", [RouteCounter("main", "models:/churn/1", 2, 1, 3.0)]
            )
            assert d.deployment_counters("svc")[0].requests == 2
            d.delete_deployment("svc")
            assert d.list_deployments() == []
        finally:
            if tracking_context._context is not None:
                tracking_context._context.close()
                tracking_context._context = None
