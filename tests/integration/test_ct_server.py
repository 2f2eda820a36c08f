"""The decision log over HTTP: runs, one run with its events and decisions, a policy's history;
reads need the READ permission and unknown runs are 404s."""

from __future__ import annotations

from pathlib import Path

from loopml.store.metadata.ct_sql import SqlCtStore
from loopml.store.metadata.sql import SqlMetadataStore
from tests.support.server import running_server


def test_ct_routes(tmp_path: Path) -> None:
    with running_server(tmp_path, auth=True) as server:
        meta = SqlMetadataStore(server.db_url)
        store = SqlCtStore(meta.engine)
        event, _ = store.add_event("churn", "alert", "alert:a1", "input drift", {"value": 0.4})
        run = store.start_run("churn", "r" * 32, "triggered", "input drift", [event.id])
        assert run is not None
        store.add_decision("churn", run.run_id, "trigger", "info", "input drift", {}, actor="ct")
        store.add_decision(
            "churn",
            run.run_id,
            "gate",
            "fail",
            "improvement: -0.02",
            {"improvement": -0.02},
            actor="ct",
        )
        store.update_run(run.run_id, "triggered", state="rejected", outcome="worse")
        meta.close()
        with server.client("viewer") as http:
            runs = http.get("/api/v1/ct/runs", params={"policy": "churn"}).json()["runs"]
            assert [(r["run_id"], r["state"]) for r in runs] == [("r" * 32, "rejected")]
            one = http.get(f"/api/v1/ct/runs/{'r' * 32}").json()
            assert one["outcome"] == "worse" and one["events"][0]["key"] == "alert:a1"
            assert [d["step"] for d in one["decisions"]] == ["trigger", "gate"]
            history = http.get("/api/v1/ct/policies/churn/history").json()
            assert history["decisions"][1]["numbers"] == {"improvement": -0.02}
            missing = http.get("/api/v1/ct/runs/nope")
            assert missing.status_code == 404 and "loopml ct history" in missing.text
        with server.client() as anonymous:
            assert anonymous.get("/api/v1/ct/runs").status_code == 401
