"""The REST API's edges: one error envelope for every kind of bad input, health, streaming."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from blake3 import blake3

from loopml.store.metadata.rest import RestMetadataStore
from loopml.store.objects.rest import RestObjectStore
from tests.support.server import Server, running_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with running_server(tmp_path) as s:
        yield s


@pytest.fixture
def http(server: Server) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


def _error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    assert "Traceback" not in response.text
    return str(body["error"]["message"])


def _run(http: httpx.Client) -> str:
    exp = http.post("/api/v1/experiments", json={"name": "e"}).json()["experiment_id"]
    return str(http.post("/api/v1/runs", json={"experiment_id": exp}).json()["run_id"])


def test_bad_input_gets_the_envelope(http: httpx.Client) -> None:
    headers = {"content-type": "application/json"}
    _error(
        http.post("/api/v1/experiments", content=b"{nope", headers=headers),
        422,
        "INVALID_PARAMETER",
    )
    _error(http.post("/api/v1/experiments", json={"name": 5}), 422, "INVALID_PARAMETER")
    _error(
        http.post("/api/v1/experiments", json={"name": "x", "extra": 1}), 422, "INVALID_PARAMETER"
    )
    _error(
        http.post("/api/v1/metrics", json={"points": [["r", "k", "high", 0, 0]]}),
        422,
        "INVALID_PARAMETER",
    )
    _error(
        http.post("/api/v1/metrics", json={"points": [["r", "k", 1.0, 2**70, 0]]}),
        422,
        "INVALID_PARAMETER",
    )
    _error(http.get("/api/v1/no/such/route"), 404, "RESOURCE_NOT_FOUND")
    _error(http.put("/api/v1/experiments"), 405, "METHOD_NOT_ALLOWED")
    _error(http.get("/api/v1/runs/" + "0" * 32), 404, "RESOURCE_NOT_FOUND")
    _error(http.post("/api/v1/experiments", json={"name": "a\x00b"}), 422, "INVALID_PARAMETER")


def test_oversized_bodies_get_413(http: httpx.Client) -> None:
    big = b'{"name": "' + b"x" * (2 << 20) + b'"}'
    message = _error(
        http.post("/api/v1/experiments", content=big, headers={"content-type": "application/json"}),
        413,
        "PAYLOAD_TOO_LARGE",
    )
    assert "limit" in message

    def chunked() -> Iterator[bytes]:  # no content-length: counted while read
        yield b'{"name": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}'

    _error(
        http.post(
            "/api/v1/experiments", content=chunked(), headers={"content-type": "application/json"}
        ),
        413,
        "PAYLOAD_TOO_LARGE",
    )


@pytest.mark.parametrize("path", ["../../etc/passwd", "a/../../b", "/etc/passwd", "a\x00b"])
def test_artifact_path_traversal_is_refused(http: httpx.Client, path: str) -> None:
    run = _run(http)
    body = {"path": path, "object_hash": "a" * 64, "size": 1, "kind": "file"}
    _error(http.post(f"/api/v1/runs/{run}/artifacts", json=body), 400, "INVALID_PARAMETER")
    quoted = httpx.URL(f"/api/v1/runs/{run}/files/").raw_path.decode() + path.replace(
        "\x00", "%00"
    ).replace("..", "%2E%2E")
    response = http.put(quoted, content=b"data")
    assert response.status_code in (400, 404), response.text
    assert "error" in response.json()


def test_health_and_ready(http: httpx.Client) -> None:
    assert http.get("/health").json()["status"] == "ok"
    ready = http.get("/ready").json()
    assert ready == {"status": "ok", "checks": {"database": "ok", "object_store": "ok"}}
    assert http.get("/openapi.json").json()["info"]["title"] == "loopml"
    assert http.get("/docs").status_code == 200
    assert http.get("/health").headers["x-request-id"]


def test_streamed_artifact_bigger_than_a_chunk(server: Server, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    with big.open("wb") as fh:  # 5 MiB + 3: several 1 MiB chunks and a ragged tail
        for _ in range(5):
            fh.write(os.urandom(1 << 20))
        fh.write(b"end")
    store = RestMetadataStore(server.url)
    objects = RestObjectStore(server.url, store.http)
    info = objects.put_file(big)
    assert info.size == big.stat().st_size
    assert info.hash == blake3(big.read_bytes()).hexdigest()
    assert objects.put_file(big) == info  # already there: skipped after a HEAD
    back = objects.get_file(info.hash, tmp_path / "back.bin")
    assert back.read_bytes() == big.read_bytes()
    # the same file by path, through the plain-HTTP file routes
    with server.client() as http:
        run = _run(http)
        with big.open("rb") as fh:
            put = http.put(f"/api/v1/runs/{run}/files/models/big.bin", content=fh)
        assert put.status_code == 200 and put.json()["object_hash"] == info.hash
        with http.stream("GET", f"/api/v1/runs/{run}/files/models/big.bin") as got:
            assert b"".join(got.iter_bytes()) == big.read_bytes()
    store.close()


def test_idempotent_retry_of_a_metric_batch_stores_once(server: Server) -> None:
    store = RestMetadataStore(server.url)
    run = store.create_run(store.create_experiment("e").experiment_id)
    points = [(run.run_id, "loss", float(i), i, i) for i in range(1000)]
    assert store.log_metric_batch(points, "batch-0001") is True
    assert store.log_metric_batch(points, "batch-0001") is False  # the retry
    assert len(store.get_metric_history(run.run_id, "loss")) == 1000
    store.close()


def test_a_lost_answer_is_retried_without_duplicates(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server stores the batch but the client never sees the answer: it retries, and the
    idempotency key keeps the points single."""
    store = RestMetadataStore(server.url)
    run = store.create_run(store.create_experiment("e").experiment_id)
    real_send = store.http.client.request
    calls = {"n": 0}

    def flaky(method: str, url: str, **kwargs: object) -> httpx.Response:
        response = real_send(method, url, **kwargs)  # type: ignore[arg-type]
        if url.endswith("/metrics") and calls["n"] == 0:
            calls["n"] += 1
            raise httpx.ReadError("connection reset after the server answered")
        return response

    monkeypatch.setattr(store.http.client, "request", flaky)
    store.log_metrics([(run.run_id, "acc", 0.5, i, i) for i in range(100)])
    assert calls["n"] == 1
    assert len(store.get_metric_history(run.run_id, "acc")) == 100
    store.close()


def test_buffer_resend_after_a_failed_flush_stores_no_duplicates(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every attempt of a flush loses its answer (the server stored it); the buffer re-sends
    the same points plus new ones later: the points end up stored exactly once."""
    from loopml.errors import StoreUnavailableError
    from loopml.store.metadata import _http
    from loopml.tracking.buffer import MetricBuffer

    monkeypatch.setattr(_http, "ATTEMPTS", 2)
    store = RestMetadataStore(server.url)
    run = store.create_run(store.create_experiment("e").experiment_id).run_id
    real = store.http.client.request
    failing = {"on": True}

    def lossy(method: str, url: str, **kwargs: object) -> httpx.Response:
        response = real(method, url, **kwargs)  # type: ignore[arg-type]
        if url.endswith("/metrics") and failing["on"]:
            raise httpx.ReadError("answer lost")
        return response

    monkeypatch.setattr(store.http.client, "request", lossy)
    buffer = MetricBuffer(store.log_metrics, interval=3600)
    buffer.extend([(run, "m", float(i), i, 0) for i in range(10)])
    with pytest.raises(StoreUnavailableError):
        buffer.flush()
    failing["on"] = False
    buffer.extend([(run, "m", float(i), i, 0) for i in range(10, 15)])
    assert buffer.flush() == 15
    assert [m.step for m in store.get_metric_history(run, "m")] == list(range(15))
    buffer.close()
    store.close()


def test_audit_records_the_request_id_before_answering(http: httpx.Client) -> None:
    made = http.post(
        "/api/v1/experiments", json={"name": "traced"}, headers={"x-request-id": "req-abc-123"}
    )
    assert made.headers["x-request-id"] == "req-abc-123"
    exp = made.json()["experiment_id"]
    http.patch(f"/api/v1/experiments/{exp}", json={"name": "renamed"})
    records = http.get("/api/v1/audit", params={"target": f"experiment:{exp}"}).json()["records"]
    assert [r["action"] for r in records] == ["experiments.rename", "experiments.create"]
    assert records[1]["request_id"] == "req-abc-123" and records[1]["actor"] == "anonymous"
    assert records[0]["summary"]["before"]["name"] == "traced"
    assert records[0]["summary"]["after"]["name"] == "renamed"
    bad = http.post("/api/v1/experiments", json={"name": "x"}, headers={"x-request-id": "a b"})
    assert bad.headers["x-request-id"] != "a b"  # not a sane id: the server makes its own
