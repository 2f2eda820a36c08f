"""``loopml serve <package folder> --workers 2`` as the Dockerfile runs it: a real process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import loopml

pd = pytest.importorskip("pandas")
np = pytest.importorskip("numpy")
pytest.importorskip("sklearn")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_serve_a_package_folder_with_two_workers(project: Path, tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(100, 2)), columns=["a", "b"])
    model = LogisticRegression().fit(frame, (frame["a"] > 0).astype(int))
    folder = tmp_path / "pkg"
    loopml.models.save_model(model, folder, input_example=frame[:3])
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    cmd = [sys.executable, "-m", "loopml.cli.main", "serve", str(folder), "--port", str(port)]
    proc = subprocess.Popen([*cmd, "--workers", "2"], cwd=tmp_path, env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 150  # a shared, loaded machine starts slowly
        while True:
            try:
                if httpx.get(f"{url}/v2/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        with httpx.Client(base_url=url) as client:
            for _ in range(20):  # kept-alive connection: TCP_NODELAY keeps these fast
                r = client.post("/invocations", json={"dataframe_records": [{"a": 1.0, "b": 0.0}]})
                want = model.predict(pd.DataFrame({"a": [1.0], "b": [0.0]})).tolist()
                assert r.json() == {"predictions": want}
            assert client.get("/v2/models/pkg").json()["name"] == "pkg"
    finally:
        proc.terminate()
        proc.wait(timeout=40)


@pytest.mark.slow
def test_deploy_serve_with_two_workers(project: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    from loopml.serving import create_deployment, update_deployment

    rng = np.random.default_rng(2)
    frame = pd.DataFrame(rng.normal(size=(100, 2)), columns=["a", "b"])
    model = LogisticRegression().fit(frame, (frame["b"] > 0).astype(int))
    with loopml.start_run():
        info = loopml.log_model(model, "model", input_example=frame[:3])
    loopml.register_model(info.uri, "churn")
    create_deployment("svc", "models:/churn/1", workers=2)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    cmd = [sys.executable, "-m", "loopml.cli.main", "deploy", "serve", "svc", "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=project, env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 150  # a shared, loaded machine starts slowly
        while True:
            try:
                if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        with httpx.Client(base_url=url) as client:
            took = []
            for _ in range(20):  # kept alive: without TCP_NODELAY each would wait ~40 ms
                started = time.perf_counter()
                r = client.post("/invocations", json={"instances": [[0.1, 0.9]]})
                took.append(time.perf_counter() - started)
                assert r.headers["x-loopml-model-version"] == "1"
            assert sorted(took)[10] < 0.03  # the median: a loaded machine adds spikes, not 40 ms
        # every worker polls the store and switches on its own: fresh connections land on
        # either worker, and all of them end up on v2 without a failed request
        with loopml.start_run():
            info = loopml.log_model(model, "model", input_example=frame[:3])
        loopml.register_model(info.uri, "churn")
        update_deployment("svc", model="models:/churn/2")
        in_a_row, deadline = 0, time.monotonic() + 60
        while in_a_row < 30:
            assert time.monotonic() < deadline, "the workers did not all switch to v2"
            r = httpx.post(f"{url}/invocations", json={"instances": [[0.1, 0.9]]}, timeout=30)
            assert r.status_code == 200, r.text
            in_a_row = in_a_row + 1 if r.headers["x-loopml-model-version"] == "2" else 0
    finally:
        proc.terminate()
        proc.wait(timeout=40)
