"""Deployments through ``loopml server``'s REST API: create, change, list, show, history."""

from __future__ import annotations

from pathlib import Path

import httpx
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
            _payload_log_through_the_server()
            d.delete_deployment("svc")
            assert d.list_deployments() == []
        finally:
            if tracking_context._context is not None:
                tracking_context._context.close()
                tracking_context._context = None


def _payload_log_through_the_server() -> None:
    """The recorder writes objects and index rows through the server; both read back."""
    import time

    from loopml.errors import InvalidParameterError
    from loopml.serving import deployments as d
    from loopml.serving.lineup import Event
    from loopml.serving.recorder import Recorder, read_payloads
    from loopml.store.metadata.deployments_base import PayloadFile
    from loopml.tracking.context import get_context

    store = d.deployment_store()
    recorder = Recorder("svc", store, get_context().objects, interval_s=3600)
    now = time.time_ns() // 1_000_000
    for i in range(3):
        recorder.observe(
            Event(f"r{i}", "main", "models:/churn/1", "1", 200, 1.0, now + i, False, "v2",
                  "application/json", b"{}", b'{"predictions": [0]}')
        )  # fmt: skip
    recorder.close()
    (f,) = store.list_payload_files("svc", since_ms=now, until_ms=now + 3)
    assert f.rows == 3 and (f.min_ts_ms, f.max_ts_ms) == (now, now + 2)
    assert store.list_payload_files("svc", since_ms=now + 3) == []
    store.add_payload_file("svc", f)  # idempotent over HTTP too
    assert read_payloads("svc").column("request_id").to_pylist() == ["r0", "r1", "r2"]
    with pytest.raises(InvalidParameterError):
        store.add_payload_file("svc", PayloadFile("x" * 64, 1, 1, 1, 1))


def test_a_deployment_mounted_in_the_server(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``LOOPML_SERVER_DEPLOYMENTS=svc loopml server``: /serve/svc beside /api/v1."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("sklearn")
    from sklearn.dummy import DummyClassifier

    import loopml
    from loopml.server import ServerConfig
    from loopml.server.run import serve_in_thread
    from loopml.serving import create_deployment
    from loopml.serving.recorder import read_payloads
    from loopml.tracking.context import get_context

    frame = pd.DataFrame({"a": [0.0, 1.0], "b": [1.0, 0.0]})
    with loopml.start_run():
        model = DummyClassifier(strategy="constant", constant=1).fit(frame, [0, 1])
        info = loopml.log_model(model, "model", input_example=frame)
    loopml.register_model(info.uri, "churn")
    create_deployment("svc", "models:/churn/1")
    settings = get_context().settings
    monkeypatch.setenv("LOOPML_SERVER_DEPLOYMENTS", "svc")
    config = ServerConfig(db_url=settings.db_url, objects_url=settings.object_store)
    with serve_in_thread(config) as url, httpx.Client(base_url=url, timeout=30) as client:
        assert client.get("/serve/svc/v2/health/ready").status_code == 200
        body = {"dataframe_split": {"columns": ["a", "b"], "data": [[0.5, 0.5]]}}
        r = client.post("/serve/svc/invocations", json=body)
        assert r.status_code == 200 and r.json() == {"predictions": [1]}
        assert r.headers["x-loopml-model-version"] == "1"
        rid = r.headers["x-request-id"]
        assert client.get("/api/v1/deployments/svc").json()["version"] == 1
        assert client.post("/serve/svc/invocations", content=b"{").status_code == 400
    # the server's shutdown ran the mounted app's: its payload log is flushed
    assert rid in read_payloads("svc").column("request_id").to_pylist()
