"""A bounded 30 s load at concurrency 64 on ``loopml deploy serve`` (a real process, uvicorn on
127.0.0.1, the project's SQLite store) while ``champion`` moves to a new version halfway: no
request fails, both versions answer, and the payload log holds exactly one row per request."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest

import loopml

pd = pytest.importorskip("pandas")
np = pytest.importorskip("numpy")
pytest.importorskip("sklearn")

SECONDS = 30.0
CONCURRENCY = 64
BODY = b'{"dataframe_split": {"columns": ["a", "b"], "data": [[0.5, -1.0]]}}'


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _load(url: str, move_at: float, until: float) -> tuple[dict[str, str], list[str]]:
    """Requests from 64 concurrent callers until ``until``; the alias moves at ``move_at``.
    Returns request id -> version answered, and every failure."""
    answered: dict[str, str] = {}
    failures: list[str] = []
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:

        async def caller() -> None:
            while time.monotonic() < until:
                rid = uuid.uuid4().hex
                try:
                    r = await client.post(
                        "/invocations",
                        content=BODY,
                        headers={"content-type": "application/json", "x-request-id": rid},
                    )
                except httpx.HTTPError as exc:
                    failures.append(f"{rid}: {type(exc).__name__} {exc}")
                    continue
                if r.status_code != 200 or r.headers.get("x-request-id") != rid:
                    failures.append(f"{rid}: {r.status_code} {r.text[:200]}")
                    continue
                answered[rid] = r.headers["x-loopml-model-version"]

        async def mover() -> None:
            await asyncio.sleep(move_at - time.monotonic())
            await asyncio.to_thread(loopml.set_alias, "churn", "champion", 2)

        await asyncio.gather(mover(), *[caller() for _ in range(CONCURRENCY)])
    return answered, failures


@pytest.mark.slow
def test_alias_moves_under_load_without_a_failed_or_lost_request(project: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    from loopml.serving import create_deployment
    from loopml.serving.recorder import read_payloads

    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(200, 2)), columns=["a", "b"])
    for column in ("a", "b"):  # two versions that answer the same row differently
        model = LogisticRegression().fit(frame, (frame[column] > 0).astype(int))
        with loopml.start_run():
            info = loopml.log_model(model, "model", input_example=frame[:3])
        loopml.register_model(info.uri, "churn")
    loopml.set_alias("churn", "champion", 1)
    create_deployment("svc", "models:/churn@champion")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    cmd = [sys.executable, "-m", "loopml.cli.main", "deploy", "serve", "svc", "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=project, env=env, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 150  # a shared, loaded machine starts slowly
        while True:
            try:
                if httpx.get(f"{url}/v2/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        start = time.monotonic()
        answered, failures = asyncio.run(_load(url, start + SECONDS / 2, start + SECONDS))
    finally:
        proc.send_signal(signal.SIGTERM)  # a graceful stop flushes the payload log
        _, stderr = proc.communicate(timeout=90)
    # uvicorn re-raises the signal once its graceful shutdown (and our last flush) is done
    assert proc.returncode in (0, -signal.SIGTERM), stderr.decode()[-3000:]
    assert b"Traceback" not in stderr, stderr.decode()[-3000:]
    assert failures == [], failures[:5]
    versions = Counter(answered.values())
    print(f"{len(answered)} requests in {SECONDS:.0f} s, by version: {dict(versions)}")
    assert set(versions) == {"1", "2"}, versions
    assert len(answered) > 300  # a real load even on a busy shared machine
    table = read_payloads("svc")
    ids = table.column("request_id").to_pylist()
    assert len(ids) == len(answered) and set(ids) == set(answered)  # one row per request
    logged = dict(zip(ids, table.column("model_version").to_pylist(), strict=True))
    assert logged == answered  # each row names the version that answered
    assert set(table.column("status").to_pylist()) == {200}
    assert set(table.column("model_uri").to_pylist()) == {"models:/churn@champion"}
