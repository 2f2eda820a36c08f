"""The Ray executor against a real local Ray instance (one per test session)."""

from __future__ import annotations

import os
import socket
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import loopml
from loopml.errors import ExecutorUnavailableError
from loopml.pipeline import run_pipeline
from loopml.pipeline.executors.base import Resources, get_executor
from tests.support.services import IN_CI

pytestmark = [pytest.mark.ray, pytest.mark.slow]  # one Ray start per session: ~10-20 s

PIPELINE = textwrap.dedent(
    """
    import os
    import time

    import numpy as np
    from loopml.pipeline import pipeline, step

    @step
    def make(n: int) -> np.ndarray:
        return np.arange(n, dtype=np.float64)

    @step
    def scale(xs: np.ndarray, factor: float = 2.0) -> np.ndarray:
        return xs * factor

    @step
    def total(xs: np.ndarray, ys: np.ndarray) -> dict:
        return {"sum": float(xs.sum() + ys.sum()), "pid": os.getpid()}

    @pipeline
    def numbers(n: int = 5, factor: float = 2.0):
        xs = make(n)
        total(xs, scale(xs, factor=factor))

    @step
    def explode(n: int) -> int:
        raise RuntimeError(f"cannot handle {n}")

    @pipeline
    def failing(n: int = 1):
        explode(n)

    @step(timeout=1.0)
    def slow(n: int) -> int:
        time.sleep(60)
        return n

    @pipeline
    def too_slow(n: int = 1):
        slow(n)

    @step(cpus=64)
    def greedy(n: int) -> int:
        return n

    @pipeline
    def too_big(n: int = 1):
        greedy(n)
    """
)


@pytest.fixture(scope="session")
def ray_instance() -> Iterator[Any]:
    """One local Ray for the whole session, started the way the executor starts one."""
    try:
        import ray
    except ImportError:
        if IN_CI:
            pytest.fail("Ray is not installed, and CI=true: install loopml[ray]")
        pytest.skip("Ray is not installed (pip install 'loopml[ray]')")
    from loopml.pipeline.executors.ray import start_local_ray

    started = not ray.is_initialized()
    if started:
        start_local_ray(num_cpus=2)  # ray.init(num_cpus=2, include_dashboard=False) on 127.0.0.1
    yield ray
    if started:
        ray.shutdown()


@pytest.fixture
def ref(project: Path, ray_instance: Any) -> str:
    (project / "pipelines.py").write_text(PIPELINE)
    return str(project / "pipelines.py")


def test_a_pipeline_runs_identically_on_ray(ref: str) -> None:
    local = run_pipeline(f"{ref}:numbers", {"n": 6}, cache=False)
    remote = run_pipeline(f"{ref}:numbers", {"n": 6}, executor="ray", cache=False)
    assert remote.status == "FINISHED" and remote.executor == "ray"
    assert {n: s.status for n, s in remote.steps.items()} == dict.fromkeys(remote.steps, "FINISHED")
    # same cache keys and the same stored objects: only hashes travelled through Ray
    assert {n: s.cache_key for n, s in remote.steps.items()} == {
        n: s.cache_key for n, s in local.steps.items()
    }
    assert remote.steps["make"].outputs[0]["hash"] == local.steps["make"].outputs[0]["hash"]
    out = remote.output("total")
    assert out["sum"] == pytest.approx(3 * sum(range(6)))
    assert out["pid"] != os.getpid()  # it ran in a Ray worker
    # a cached re-run on Ray runs nothing
    again = run_pipeline(f"{ref}:numbers", {"n": 6}, executor="ray")
    assert {s.status for s in again.steps.values()} == {"CACHED"}
    # each step is a nested run of the pipeline's tracked run, as on the local executor
    step_run = loopml.get_run(remote.steps["scale"].run_id or "")
    assert step_run.parent_run_id == remote.run_id


def test_a_failing_step_fails_the_run_naming_it(ref: str) -> None:
    run = run_pipeline(f"{ref}:failing", executor="ray")
    assert run.status == "FAILED"
    assert run.steps["explode"].status == "FAILED"
    assert "explode" in (run.error or "") and "cannot handle 1" in (run.error or "")


def test_a_step_past_its_timeout_is_cancelled(ref: str) -> None:
    started = time.perf_counter()
    run = run_pipeline(f"{ref}:too_slow", executor="ray")
    assert time.perf_counter() - started < 20
    assert run.status == "FAILED"
    assert "'slow' timed out after 1 s" in (run.error or "")
    assert run.steps["slow"].outputs == []


def test_a_step_asking_for_more_than_the_cluster_fails_fast(ref: str) -> None:
    run = run_pipeline(f"{ref}:too_big", executor="ray")
    assert run.status == "FAILED"
    assert "'greedy' asks for 64 CPUs but the Ray cluster has 2" in (run.error or "")


def test_submit_call_maps_results_errors_and_memory(ray_instance: Any) -> None:
    executor = get_executor("ray")
    try:
        assert executor.name == "ray"
        submit = executor.submit_call  # type: ignore[attr-defined]
        future = submit(shout, b"abc", "shout", Resources(memory_mb=64), None)
        assert future.result(timeout=30) == b"ABC"
        error = submit(decode, b"\xff", "decode", Resources(), None).exception(timeout=30)
        assert "step 'decode' failed on Ray: UnicodeDecodeError" in str(error)
    finally:
        executor.close()
    assert ray_instance.is_initialized()  # an instance it did not start stays up


def shout(data: bytes) -> bytes:
    return data.upper()


def decode(data: bytes) -> bytes:
    return data.decode("utf-8").encode()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_cluster_is_a_clear_error(ray_instance: Any) -> None:
    address = f"127.0.0.1:{_free_port()}"
    started = time.perf_counter()
    expected = f"cannot reach the Ray cluster at '{address}'"
    with pytest.raises(ExecutorUnavailableError, match=expected) as info:
        get_executor("ray", address=address)
    assert time.perf_counter() - started < 10
    assert "ray start --head" in info.value.message
    assert info.value.details["address"] == address


def peak(params: dict[str, Any]) -> float:
    loopml.log_param("pid", os.getpid())
    return -((params["x"] - 0.3) ** 2)


def test_tuning_trials_run_as_ray_tasks(ref: str) -> None:
    from loopml.pipeline.tune import tune

    pytest.importorskip("optuna")
    result = tune(
        peak,
        {"x": {"type": "float", "low": 0.0, "high": 1.0}},
        n_trials=4,
        parallel=2,
        executor="ray",
        seed=2,
    )
    assert [t.state for t in result.trials] == ["COMPLETE"] * 4
    pids = {loopml.get_run(t.run_id).params["pid"] for t in result.trials}
    assert str(os.getpid()) not in pids
    # a pipeline too: each trial runs it inside its Ray task and reads `sum` from `total`
    result = tune(
        f"{ref}:numbers",
        {"factor": {"type": "float", "low": 1.0, "high": 3.0}},
        n_trials=2,
        parallel=2,
        executor="ray",
        metric="sum",
        params={"n": 4},
        seed=2,
    )
    assert [t.state for t in result.trials] == ["COMPLETE"] * 2
    best = result.best_trial
    assert best.value == pytest.approx(6 + 6 * best.params["factor"])
    assert loopml.get_run(best.pipeline_run_id or "").parent_run_id == best.run_id


def climb(params: dict[str, Any]) -> float:
    from loopml.pipeline.tune import report

    value = 0.0
    for step in range(4):
        value = params["x"] * (step + 1)
        report(value, step)  # answered by the pruning actor beside the tuning process
    return value


def test_trials_on_ray_are_pruned_through_the_oracle_actor(
    ray_instance: Any, project: Path
) -> None:
    from loopml.pipeline.tune import tune

    pytest.importorskip("optuna")
    result = tune(
        climb,
        {"x": {"type": "float", "low": 0.0, "high": 1.0}},
        n_trials=10,
        parallel=2,
        executor="ray",
        sampler="random",
        seed=11,
    )
    states = [t.state for t in result.trials]
    assert "PRUNED" in states and "COMPLETE" in states
    pruned = next(t for t in result.trials if t.state == "PRUNED")
    assert loopml.get_run(pruned.run_id).status == "KILLED"
