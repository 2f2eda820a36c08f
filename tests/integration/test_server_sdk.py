"""The SDK and CLI, unchanged, against a server selected by LOOPML_TRACKING_URI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from typer.testing import CliRunner

import loopml
from loopml.cli.main import app
from loopml.store.objects.rest import RestObjectStore
from loopml.tracking import context as tracking_context
from loopml.tracking import fluent
from tests.support.s3 import S3Endpoint, s3_server  # noqa: F401
from tests.support.server import Server, running_server

runner = CliRunner()


@pytest.fixture
def remote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    """A project folder whose SDK logs to a server (whose stores live elsewhere)."""
    with running_server(tmp_path / "srv", auth=True) as server:
        root = tmp_path / "client"
        root.mkdir()
        (root / "loopml.toml").write_text("[loopml]\n")
        monkeypatch.chdir(root)
        monkeypatch.setenv("LOOPML_TRACKING_URI", server.url)
        monkeypatch.setenv("LOOPML_TOKEN", server.tokens["admin"])
        loopml.configure(root)
        fluent._experiment = None
        yield server
        while fluent.active_run() is not None:
            fluent.end_run()
        fluent._experiment = None
        if tracking_context._context is not None:
            tracking_context._context.close()
            tracking_context._context = None


@pytest.fixture
def fresh_sdk() -> Iterator[None]:
    """No experiment or run left over from another test (the fluent API keeps globals)."""
    fluent._experiment = None
    yield
    while fluent.active_run() is not None:
        fluent.end_run()
    fluent._experiment = None
    if tracking_context._context is not None:
        tracking_context._context.close()
        tracking_context._context = None


def test_sdk_logs_to_the_server(remote: Server, tmp_path: Path) -> None:
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"\x00\x01" * 100_000)
    folder = tmp_path / "plots"
    folder.mkdir()
    (folder / "roc.txt").write_text("roc")
    loopml.set_experiment("remote-exp")
    with loopml.start_run(run_name="r1") as run:
        loopml.log_param("lr", 0.1)
        for i in range(100):
            loopml.log_metric("loss", 1 / (i + 1), step=i)
        loopml.log_artifact(weights)
        loopml.log_artifacts(folder, "plots")
    assert isinstance(tracking_context.get_context().objects, RestObjectStore)
    assert not (Path.cwd() / ".loopml").exists()  # nothing was written locally
    found = loopml.search_runs("remote-exp", filter="params.lr = '0.1'")
    assert [r.run_id for r in found] == [run.run_id]
    assert found[0].metrics["loss"] == pytest.approx(0.01)
    assert len(loopml.get_metric_history(run.run_id, "loss")) == 100
    out = loopml.download_artifacts(f"runs:/{run.run_id}/weights.bin", tmp_path / "dl.bin")
    assert Path(out).read_bytes() == weights.read_bytes()
    assert (
        Path(loopml.download_artifacts(f"runs:/{run.run_id}/plots", tmp_path / "p")) / "roc.txt"
    ).read_text() == "roc"
    # the server's own object store holds the bytes
    assert any(remote.objects.rglob("*"))


def test_cli_reads_from_the_server(remote: Server) -> None:
    loopml.set_experiment("cli-exp")
    with loopml.start_run(run_name="from-cli") as run:
        loopml.log_metric("acc", 0.9)
    result = runner.invoke(app, ["runs", "list", "--json"])
    assert result.exit_code == 0, result.output
    assert run.run_id in result.output
    added = runner.invoke(app, ["users", "add", "dana", "--role", "editor"])
    assert added.exit_code == 0, added.output
    made = runner.invoke(app, ["tokens", "create", "--user", "dana", "--expires", "1d", "--json"])
    assert made.exit_code == 0, made.output
    token = orjson.loads(made.output)["token"]
    listed = runner.invoke(app, ["tokens", "list", "--json"])
    assert "dana" in listed.output and token not in listed.output
    log = runner.invoke(app, ["audit", "log", "--since", "1h", "--json"])
    assert log.exit_code == 0, log.output
    actions = {r["action"] for r in orjson.loads(log.output)}
    assert {"users.create", "tokens.create", "runs.create"} <= actions
    assert token not in log.output
    revoked = runner.invoke(app, ["tokens", "revoke", orjson.loads(made.output)["token_id"]])
    assert revoked.exit_code == 0, revoked.output
    with httpx.Client(base_url=remote.url, headers={"authorization": f"Bearer {token}"}) as c:
        assert c.get("/api/v1/whoami").status_code == 401


def test_direct_artifacts_write_to_the_object_store(
    remote: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LOOPML_ARTIFACTS_DIRECT", "1")
    loopml.configure(Path.cwd())
    assert not isinstance(tracking_context.get_context().objects, RestObjectStore)
    data = tmp_path / "direct.txt"
    data.write_text("direct")
    with loopml.start_run() as run:
        loopml.log_artifact(data)
    out = loopml.download_artifacts(f"runs:/{run.run_id}/direct.txt", tmp_path / "back.txt")
    assert Path(out).read_text() == "direct"


def test_local_admin_bootstrap_and_server_process(tmp_path: Path) -> None:
    """`loopml users add` / `tokens create` on the server's machine, then `loopml server --auth`
    starts in under 2 s and accepts the token."""
    root = tmp_path / "srv"
    root.mkdir()
    (root / "loopml.toml").write_text("[loopml]\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    cli = [sys.executable, "-m", "loopml.cli.main", "-C", str(root)]
    subprocess.run(
        [*cli, "users", "add", "root", "--role", "admin"], env=env, check=True, capture_output=True
    )
    made = subprocess.run(
        [*cli, "tokens", "create", "--user", "root", "--json"],
        env=env,
        check=True,
        capture_output=True,
    )
    token = orjson.loads(made.stdout)["token"]
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    proc = subprocess.Popen(
        [*cli, "server", "--port", str(port), "--auth"], env=env, stderr=subprocess.PIPE
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as c:
            while True:
                try:
                    if c.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() - started < 30, "the server did not start"
                time.sleep(0.02)
            elapsed = time.monotonic() - started
            assert c.get("/api/v1/whoami").status_code == 401
            me = c.get("/api/v1/whoami", headers={"authorization": f"Bearer {token}"})
            assert me.json() == {"name": "root", "role": "admin"}
        print(f"loopml server ready in {elapsed:.2f} s")  # benchmarks/bench_server.py times it
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert proc.returncode in (0, -15)  # uvicorn re-raises SIGTERM after a clean shutdown
    assert token.encode() not in err


def test_refuses_public_host_without_auth(tmp_path: Path) -> None:
    result = runner.invoke(app, ["-C", str(tmp_path), "server", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "--auth" in result.output


@pytest.mark.postgres
def test_server_on_postgres_with_the_sdk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_sdk: None
) -> None:
    from loopml.server import ServerConfig
    from loopml.server.run import serve_in_thread
    from tests.support.services import postgres_schema

    with postgres_schema() as db_url:
        config = ServerConfig(db_url=db_url, objects_url=str(tmp_path / "objects"))
        with serve_in_thread(config) as url:
            monkeypatch.setenv("LOOPML_TRACKING_URI", url)
            loopml.configure(tmp_path)
            loopml.set_experiment("pg")
            with loopml.start_run() as run:
                loopml.log_metrics({"a": 1.0, "b": float("nan")})
                loopml.log_text("hello", "notes/hello.txt")
            got = loopml.get_run(run.run_id)
            assert got.metrics["a"] == 1.0 and got.metrics["b"] != got.metrics["b"]
            assert (
                loopml.TrackingClient().load_bytes(f"runs:/{run.run_id}/notes/hello.txt")
                == b"hello"
            )
            tracking_context.get_context().close()
            tracking_context._context = None


def test_several_workers_serve_with_nodelay(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    cmd = [sys.executable, "-m", "loopml.cli.main", "-C", str(tmp_path), "server"]
    proc = subprocess.Popen(
        [*cmd, "--port", str(port), "--workers", "2"], env=env, stderr=subprocess.PIPE
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as c:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if c.get("/ready").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the workers did not start"
                time.sleep(0.05)
            for i in range(5):
                assert c.post("/api/v1/experiments", json={"name": f"w{i}"}).status_code == 201
            samples = []
            for _ in range(30):  # kept-alive connection: no ~40 ms delayed-ACK stalls
                began = time.perf_counter()
                c.get("/api/v1/experiments")
                samples.append(time.perf_counter() - began)
            assert sorted(samples)[len(samples) // 2] < 0.03
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


@pytest.mark.postgres
@pytest.mark.s3
def test_team_server_on_postgres_and_s3(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    s3_server: S3Endpoint,  # noqa: F811
    fresh_sdk: None,
) -> None:
    """The team setup: a server over PostgreSQL + S3; one client through it, one direct."""
    from loopml.server import ServerConfig
    from loopml.server.run import serve_in_thread
    from tests.support.services import postgres_schema

    for key, value in s3_server.env().items():
        monkeypatch.setenv(key, value)
    objects = f"s3://{s3_server.new_bucket()}/loopml"
    data = tmp_path / "model.bin"
    data.write_bytes(os.urandom(3 << 20))
    with postgres_schema() as db_url, serve_in_thread(ServerConfig(db_url, objects)) as url:
        monkeypatch.setenv("LOOPML_TRACKING_URI", url)
        for direct in ("0", "1"):
            monkeypatch.setenv("LOOPML_ARTIFACTS_DIRECT", direct)
            loopml.configure(tmp_path)
            with loopml.start_run() as run:
                loopml.log_artifact(data)
            back = loopml.download_artifacts(
                f"runs:/{run.run_id}/model.bin", tmp_path / f"b{direct}"
            )
            assert Path(back).read_bytes() == data.read_bytes()
            assert tracking_context.get_context().objects.url.startswith("s3://") == (direct == "1")
