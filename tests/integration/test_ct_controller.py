"""``loopml ct run`` as a real process: SIGKILLed again and again in the middle of a rollout,
restarted each time, it ends promoted or rolled back, never half-way and never with two
champions; SIGTERM stops it cleanly and gives its lease back."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import loopml
import loopml.data
import loopml.registry
from loopml.ct import Controller
from loopml.ct.controller import LEASE, ct_store
from loopml.serving.deployments import create_deployment, deployment_store, get_deployment
from loopml.store.metadata.ct_base import CtStore
from loopml.store.metadata.deployments_base import RouteCounter
from tests.unit.ct.conftest import make_policy
from tests.unit.ct.support import DirectTrainer, log_and_register, make_table
from tests.unit.ct.test_pipeline_loop import PIPELINE

pytest.importorskip("sklearn")

POLICY_TOML = """
[ct.churn]
pipeline = "pipelines/training.py:training"
deployment = "churn-prod"
triggers = [{new_data = "customers"}, {manual = true}]
label = "label"
gates = {min_improvement = 0.01, max_slice_regression = 0.05, slice_column = "plan"}
rollout = {canary_weight = 10, min_requests = 100, max_error_rate = 0.02}
params = {dataset = "data:/customers@latest", depth = DEPTH}
"""


def _routes() -> list[tuple[str, str, int]]:
    return [
        (r["name"], r["model"], r["weight"]) for r in get_deployment("churn-prod").config["routes"]
    ]


def _start(project: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    cmd = [
        sys.executable,
        "-m",
        "loopml.cli.main",
        "ct",
        "run",
        "--interval",
        "0.05",
        "--lease-ttl",
        "1",
    ]
    log = (project / "ct.log").open("ab")
    return subprocess.Popen(cmd, cwd=project, env=env, stdout=log, stderr=log)


def _cli(project: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    cmd = [sys.executable, "-m", "loopml.cli.main", "ct", *args]
    done = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _policy(project: Path, depth: int) -> None:
    (project / "loopml.toml").write_text("[loopml]\n" + POLICY_TOML.replace("DEPTH", str(depth)))


def _rolling_out(project: Path) -> None:
    """Through the CLI and the real pipeline: a first model becomes champion and is served by
    churn-prod; new data trains a better one, now live as a canary."""
    (project / "pipelines").mkdir()
    (project / "pipelines" / "training.py").write_text(PIPELINE)
    make_table(900, seed=1).to_parquet(project / "customers.parquet", index=False)
    loopml.data.add(project / "customers.parquet", name="customers")
    _policy(project, depth=2)
    _cli(project, "trigger", "churn", "--reason", "first model")
    _cli(project, "once")
    assert ct_store().list_runs("churn")[0].state == "promoted"
    make_table(1200, seed=2).to_parquet(project / "customers.parquet", index=False)
    loopml.data.add(project / "customers.parquet", name="customers")
    _policy(project, depth=6)
    out = _cli(project, "once", "--json")
    assert "new version 2 of dataset 'customers'" in out
    run = ct_store().list_runs("churn")[0]
    assert run.state == "rolling_out", run.outcome
    assert _routes() == [("main", "models:/churn@champion", 90), ("canary", "models:/churn/2", 10)]


def _rolling_out_direct(project: Path) -> None:
    """The same state, reached in-process with models trained directly (faster)."""
    log_and_register("ok", make_table().iloc[:800])
    loopml.set_alias("churn", "champion", 1)
    create_deployment("churn-prod", "models:/churn@champion")
    _policy(project, depth=6)
    c = Controller([make_policy()], trainer=DirectTrainer(), alerts=None)
    c.trigger("churn", "retrain")
    c.run_once()
    c.close()
    assert c.runs("churn")[0].state == "rolling_out"


def _wait_for_lease(store: CtStore, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        holder = store.lease_holder(LEASE)
        if holder is not None and f":{proc.pid}:" in holder[0]:
            return
        assert proc.poll() is None, f"the controller exited with {proc.returncode}"
        assert time.monotonic() < deadline, "the controller never took the lease"
        time.sleep(0.02)


def _kill_and_restart_until_done(project: Path, send: int, errors: int) -> str:
    rng = random.Random(8)
    store = ct_store()
    sent = 0
    for _ in range(40):
        proc = _start(project)
        _wait_for_lease(store, proc)  # it is acting now; kill it at a random point from here
        time.sleep(rng.uniform(0.0, 1.5))
        if sent < send:
            step = min(50, send - sent)
            deployment_store().add_counters(
                "churn-prod",
                [
                    RouteCounter(
                        "canary", "models:/churn/2", step, errors * step // send, step * 4.0
                    )
                ],
            )
            sent += step
            time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        run = store.list_runs("churn")[0]
        if run.finished:
            return run.state
    last = [d.reason for d in store.list_decisions("churn")[-3:]]
    raise AssertionError(f"the run never finished; last decisions: {last}")


@pytest.mark.slow
def test_killed_mid_rollout_ends_promoted(project: Path) -> None:
    _rolling_out(project)
    state = _kill_and_restart_until_done(project, send=100, errors=0)
    assert state == "promoted"
    assert loopml.get_model_version("models:/churn@champion").version == 2
    assert _routes() == [("main", "models:/churn@champion", 100)]
    versions = loopml.registry.list_model_versions("churn")
    assert sum("champion" in v.aliases for v in versions) == 1
    run = ct_store().list_runs("churn")[0]
    decisions = ct_store().list_decisions("churn", run_id=run.run_id)
    assert [d.step for d in decisions].count("promote") == 1
    assert [d.step for d in decisions].count("rollback") == 0
    assert ct_store().active_run("churn") is None


@pytest.mark.slow
def test_killed_mid_rollout_ends_rolled_back(project: Path) -> None:
    _rolling_out_direct(project)
    state = _kill_and_restart_until_done(project, send=100, errors=20)
    assert state == "rolled_back"
    assert loopml.get_model_version("models:/churn@champion").version == 1
    assert _routes() == [("main", "models:/churn@champion", 100)]
    assert loopml.get_model_version("churn", 2).tags["ct.status"] == "rejected"
    run = ct_store().list_runs("churn")[0]
    steps = [d.step for d in ct_store().list_decisions("churn", run_id=run.run_id)]
    assert steps.count("rollback") == 1 and steps.count("promote") == 0


@pytest.mark.slow
def test_sigterm_stops_cleanly_and_releases_the_lease(project: Path) -> None:
    _policy(project, depth=2)
    store = ct_store()
    proc = _start(project)
    _wait_for_lease(store, proc)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0
    assert store.lease_holder(LEASE) is None
