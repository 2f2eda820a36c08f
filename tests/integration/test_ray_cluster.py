"""The Ray executor joins a running cluster by address (``ray start --head``), runs a pipeline
there, and gives the same cache keys as a local run; a wrong address fails fast and clearly."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from loopml.pipeline import get_pipeline_run, run_pipeline
from tests.support.services import IN_CI

pytestmark = [pytest.mark.ray, pytest.mark.slow]

PIPELINE = textwrap.dedent(
    """
    import os

    from loopml.pipeline import pipeline, step

    @step(cpus=1, memory_mb=64)
    def make(n: int) -> list:
        return list(range(n))

    @step
    def total(xs: list) -> dict:
        return {"sum": sum(xs), "pid": os.getpid()}

    @pipeline
    def numbers(n: int = 5):
        total(make(n))
    """
)

DRIVER = textwrap.dedent(
    """
    import json, sys
    from loopml.errors import ExecutorUnavailableError
    from loopml.pipeline import run_pipeline
    from loopml.pipeline.executors.ray import RayExecutor

    address, wrong = sys.argv[1], sys.argv[2]
    try:
        RayExecutor(address=wrong)
    except ExecutorUnavailableError as exc:
        refused = exc.message
    with RayExecutor(address=address) as cluster:
        run = run_pipeline("flows.py:numbers", {"n": 7}, executor=cluster, cache=False)
    print(json.dumps({"run": run.run_id, "status": run.status, "refused": refused}))
    """
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def cluster() -> Iterator[str]:
    """A one-node Ray cluster of its own (own temp dir, no auth token), stopped by its pid."""
    ray_cli = Path(sys.executable).parent / "ray"
    if not ray_cli.exists():
        if IN_CI:
            pytest.fail("the `ray` command is missing, and CI=true: install loopml[ray]")
        pytest.skip("the `ray` command is missing (pip install 'loopml[ray]')")
    port = _free_port()
    temp = tempfile.mkdtemp(prefix="lr", dir="/tmp")  # Ray's socket paths must stay short
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    log = Path(temp) / "head.log"
    with log.open("wb") as out:
        head = subprocess.Popen(
            [
                str(ray_cli),
                "start",
                "--head",
                f"--port={port}",
                "--num-cpus=1",
                "--include-dashboard=false",
                f"--temp-dir={temp}",
                "--block",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        deadline = time.monotonic() + 120
        while b"Ray runtime started" not in log.read_bytes():
            assert head.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, "the Ray head did not start in 120 s"
            time.sleep(0.5)
        yield f"127.0.0.1:{port}"
    finally:
        head.terminate()
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            head.kill()
            head.wait()
        shutil.rmtree(temp, ignore_errors=True)


def test_a_pipeline_runs_on_a_cluster_by_address(project: Path, cluster: str) -> None:
    (project / "flows.py").write_text(PIPELINE)
    (project / "driver.py").write_text(DRIVER)
    wrong = f"127.0.0.1:{_free_port()}"
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    env = {k: v for k, v in env.items() if not k.startswith("LOOPML_")}
    done = subprocess.run(
        [sys.executable, "driver.py", cluster, wrong],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["status"] == "FINISHED"
    assert f"cannot reach the Ray cluster at '{wrong}'" in result["refused"]
    remote = get_pipeline_run(result["run"])
    assert remote.executor == "ray"
    assert remote.output("total")["sum"] == sum(range(7))
    # the same keys as a local run of the same code and params
    local = run_pipeline("flows.py:numbers", {"n": 7}, cache=False)
    assert {n: s.cache_key for n, s in local.steps.items()} == {
        n: s.cache_key for n, s in remote.steps.items()
    }
    assert remote.output("total")["pid"] != local.output("total")["pid"]
