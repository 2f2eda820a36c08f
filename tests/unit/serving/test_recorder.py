"""The payload log: Parquet objects in the object store, indexed in ``payload_files``; the
recorder's counters, drop counter and logging switch."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from loopml.errors import InvalidParameterError, NotFoundError
from loopml.serving import create_deployment, delete_deployment, deployment_counters
from loopml.serving.deployments import deployment_store
from loopml.serving.lineup import Event
from loopml.serving.recorder import PAYLOAD_COLUMNS, Recorder, payload_schema, read_payloads
from loopml.store.metadata.deployments_base import PayloadFile
from loopml.tracking.context import get_context

pa = pytest.importorskip("pyarrow")
H = "ab" * 32


def _event(i: int, *, ts: int, body: bytes = b'{"instances": [[1]]}', **kw: object) -> Event:
    fields: dict[str, object] = {
        "request_id": f"r{i}",
        "route": "main",
        "model_uri": "models:/churn@champion",
        "model_version": "3",
        "status": 200,
        "latency_ms": 1.5,
        "ts_ms": ts,
        "shadow": False,
        "protocol": "mlflow",
        "content_type": "application/json",
        "body": body,
        "output": b'{"predictions": [1]}',
    }
    fields.update(kw)
    return Event(**fields)  # type: ignore[arg-type]


def test_payload_file_index(project: Path) -> None:
    create_deployment("svc", "models:/churn/1")
    store = deployment_store()
    store.add_payload_file("svc", PayloadFile(H, 10, 1_000, 2_000, 5))
    store.add_payload_file("svc", PayloadFile(H, 10, 1_000, 2_000, 5))  # a retry: no-op
    store.add_payload_file("svc", PayloadFile("cd" * 32, 4, 3_000, 4_000, 6))
    assert [f.object_hash for f in store.list_payload_files("svc")] == [H, "cd" * 32]
    assert [f.rows for f in store.list_payload_files("svc", since_ms=2_001)] == [4]
    assert [f.rows for f in store.list_payload_files("svc", since_ms=2_000)] == [10, 4]
    assert [f.rows for f in store.list_payload_files("svc", until_ms=3_000)] == [10]
    assert store.list_payload_files("svc", 2_500, 2_900) == []
    assert store.list_payload_files("other") == []
    with pytest.raises(InvalidParameterError, match="64 lowercase hex"):
        store.add_payload_file("svc", PayloadFile("nothex", 1, 1, 1, 1))
    with pytest.raises(InvalidParameterError, match="min_ts_ms <= max_ts_ms"):
        store.add_payload_file("svc", PayloadFile(H, 1, 5, 1, 1))
    with pytest.raises(NotFoundError):
        store.add_payload_file("nope", PayloadFile(H, 1, 1, 1, 1))
    live, _ = get_context().metadata.referenced_objects()  # type: ignore[attr-defined]
    assert H in live  # gc keeps what the index pins
    delete_deployment("svc")
    assert store.list_payload_files("svc") == []


def test_recorder_writes_objects_and_index_rows(project: Path) -> None:
    create_deployment("svc", "models:/churn/1")
    store = deployment_store()
    recorder = Recorder("svc", store, get_context().objects, interval_s=3600)
    now = time.time_ns() // 1_000_000
    recorder.observe(_event(0, ts=now))
    recorder.observe(_event(1, ts=now + 1, body=b"\xff not utf-8", status=400, output=None))
    recorder.observe(_event(2, ts=now + 2, shadow=True, protocol="v2", route="shadow"))
    recorder.flush()
    recorder.observe(_event(3, ts=now + 10))
    recorder.close()  # the last flush writes what is queued
    files = store.list_payload_files("svc")
    assert [f.rows for f in files] == [3, 1]
    assert files[0].min_ts_ms == now and files[0].max_ts_ms == now + 2
    table = read_payloads("svc")
    assert table.schema == payload_schema() and tuple(table.column_names) == PAYLOAD_COLUMNS
    rows = table.to_pylist()
    assert [r["request_id"] for r in rows] == ["r0", "r1", "r2", "r3"]
    assert rows[0]["inputs"] == '{"instances": [[1]]}'
    assert rows[0]["outputs"] == '{"predictions": [1]}' and rows[0]["deployment"] == "svc"
    assert rows[1]["inputs"] == "\ufffd not utf-8" and rows[1]["outputs"] is None
    assert rows[2]["shadow"] and rows[2]["protocol"] == "v2"
    assert [r["request_id"] for r in read_payloads("svc", now + 1, now + 3).to_pylist()] == [
        "r1",
        "r2",
    ]
    counters = {c.route: c for c in deployment_counters("svc")}
    assert (counters["main"].requests, counters["main"].errors) == (3, 1)
    assert counters["shadow:models:/churn@champion"].requests == 1
    assert recorder.written == 4 and recorder.dropped == 0


def test_full_queue_drops_and_counts_and_logging_switches(project: Path) -> None:
    create_deployment("svc", "models:/churn/1")
    store = deployment_store()
    recorder = Recorder("svc", store, get_context().objects, interval_s=3600, max_queue=2)
    now = time.time_ns() // 1_000_000
    for i in range(5):
        recorder.observe(_event(i, ts=now + i))
    assert recorder.dropped == 3
    recorder.flush()
    recorder.set_logging(False)
    recorder.observe(_event(9, ts=now + 9))  # counted, not logged
    recorder.flush()
    recorder.set_logging(True)
    recorder.observe(_event(10, ts=now + 10))
    recorder.close()
    assert [r["request_id"] for r in read_payloads("svc").to_pylist()] == ["r0", "r1", "r10"]
    (c,) = deployment_counters("svc")
    assert (c.requests, c.dropped) == (7, 3)  # dropped events still count as requests


def test_counters_only_without_an_object_store(project: Path) -> None:
    create_deployment("svc", "models:/churn/1")
    recorder = Recorder("svc", deployment_store(), None, interval_s=3600)
    recorder.observe(_event(0, ts=1))
    recorder.close()
    assert deployment_counters("svc")[0].requests == 1
    assert read_payloads("svc").num_rows == 0
