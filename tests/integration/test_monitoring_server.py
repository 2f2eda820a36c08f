"""Monitoring through ``loopml server``'s REST API: windows, alerts and feedback."""

from __future__ import annotations

from pathlib import Path

from loopml.store.metadata.monitoring_base import Alert, NewWindow
from loopml.store.metadata.monitoring_sql import SqlMonitoringStore
from loopml.store.metadata.sql import SqlMetadataStore
from tests.support.server import running_server

CONFIG = {"routes": [{"name": "main", "model": "models:/churn/1", "weight": 100}]}


def test_monitoring_routes(tmp_path: Path) -> None:
    with running_server(tmp_path) as server, server.client() as client:
        assert client.post("/api/v1/deployments", json={"name": "svc", "config": CONFIG}).is_success
        store = SqlMetadataStore(server.db_url)
        monitoring = SqlMonitoringStore(store.engine)
        values = {"drift_share": 0.5, "error_rate": 0.0}
        made = monitoring.add_windows(
            [
                NewWindow(
                    "svc",
                    "1h",
                    "1",
                    "models:/churn/1",
                    h * 3600_000,
                    (h + 1) * 3600_000,
                    10,
                    100,
                    {"values": values},
                )
                for h in range(3)
            ],
            "svc",
            "1h",
            {"end_ms": 3 * 3600_000},
        )
        monitoring.add_alert(
            Alert("svc", "input_drift", "warning", "drifted", 0.5, 0.3, made[-1].id, "r", 5)
        )
        r = client.get("/api/v1/monitoring/deployments/svc/windows", params={"limit": 2})
        assert r.status_code == 200, r.text
        windows = r.json()["windows"]
        assert [w["start_ms"] for w in windows] == [3600_000, 7200_000]
        assert windows[0]["metrics"]["values"] == values
        one = client.get(f"/api/v1/monitoring/windows/{made[0].id}").json()
        assert one["id"] == made[0].id and one["spec"] == "1h"
        assert client.get("/api/v1/monitoring/windows/999").status_code == 404
        bad = client.get("/api/v1/monitoring/deployments/svc/windows", params={"window": "x"})
        assert bad.status_code == 400 and "duration" in bad.json()["error"]["message"]
        alerts = client.get("/api/v1/monitoring/alerts", params={"deployment": "svc"}).json()
        assert [(a["name"], a["window_id"]) for a in alerts["alerts"]] == [
            ("input_drift", made[-1].id)
        ]
        assert client.get("/api/v1/monitoring/alerts", params={"name": "latency"}).json() == {
            "alerts": []
        }
        r = client.post(
            "/api/v1/monitoring/deployments/svc/feedback",
            json={"items": [{"request_id": "abc", "label": [1, 0]}]},
        )
        assert r.status_code == 200 and r.json() == {"deployment": "svc", "recorded": 2}
        assert monitoring.get_feedback("svc", ["abc"]) == [("abc", 0, "1"), ("abc", 1, "0")]
        r = client.post(
            "/api/v1/monitoring/deployments/svc/feedback", json={"items": [{"label": 1}]}
        )
        assert r.status_code == 400 and "request_id" in r.json()["error"]["message"]
        r = client.post(
            "/api/v1/monitoring/deployments/nope/feedback",
            json={"items": [{"request_id": "a", "label": 1}]},
        )
        assert r.status_code == 404
        store.close()
