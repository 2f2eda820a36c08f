"""The process executor: branches in parallel, timeouts that kill, retries, dead workers,
and outputs exchanged through the object store between processes."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest

import loopml
from loopml.pipeline import get_executor, load_pipeline, resume, run_pipeline
from loopml.pipeline.definition import Pipeline


def _write(project: Path, source: str, name: str = "p") -> Pipeline:
    path = project / "procpipe.py"
    path.write_text(
        "from __future__ import annotations\n\nfrom loopml.pipeline import pipeline, step\n"
        + textwrap.dedent(source)
    )
    return load_pipeline(f"{path}:{name}")


PARALLEL = """
import os
import time

@step
def start() -> int:
    return 1

@step
def slow_a(x: int) -> int:
    time.sleep(0.6)
    return os.getpid()

@step
def slow_b(x: int) -> int:
    time.sleep(0.6)
    return os.getpid()

@step
def join(a: int, b: int) -> list:
    return sorted([a, b])

@pipeline
def p():
    s = start()
    join(slow_a(s), slow_b(s))
"""


def test_independent_branches_run_in_parallel_processes(project: Path) -> None:
    pipe = _write(project, PARALLEL)
    with get_executor("process", max_workers=2) as exe:
        run = run_pipeline(pipe, executor=exe)
    assert run.status == "FINISHED", run.error
    a, b = run.output("join")
    assert a != b  # two worker processes
    assert import_pid_differs(a)
    sa, sb = run.steps["slow_a"], run.steps["slow_b"]
    assert sa.started_ms is not None and sb.started_ms is not None
    assert sa.ended_ms is not None and sb.ended_ms is not None
    assert sa.started_ms < sb.ended_ms and sb.started_ms < sa.ended_ms  # they overlapped
    cached = run_pipeline(pipe, executor="process")
    assert {s.status for s in cached.steps.values()} == {"CACHED"}


def import_pid_differs(pid: int) -> bool:
    import os

    return pid != os.getpid()


def test_timeout_kills_the_worker_and_names_the_step(project: Path) -> None:
    pipe = _write(
        project,
        """
        import time

        @step(timeout=0.5)
        def hang() -> int:
            time.sleep(30)
            return 1

        @step
        def fine() -> int:
            return 2

        @pipeline
        def p():
            hang()
            fine()
        """,
    )
    begin = time.perf_counter()
    run = run_pipeline(pipe, executor="process")
    assert time.perf_counter() - begin < 10
    assert run.status == "FAILED"
    assert run.steps["hang"].status == "FAILED"
    assert "step 'hang' timed out after 0.5 s" in (run.error or "")
    assert run.steps["fine"].status == "FINISHED"
    child = loopml.get_run(run.steps["hang"].run_id)
    assert str(child.status) == "FAILED"


def test_a_crashing_worker_fails_its_step_and_resume_recovers(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipe = _write(
        project,
        """
        import os

        @step
        def base() -> int:
            return 20

        @step
        def crash(x: int) -> int:
            if os.environ.get("CRASH_OK") != "1":
                os._exit(3)
            return x + 1

        @pipeline
        def p():
            crash(base())
        """,
    )
    monkeypatch.delenv("CRASH_OK", raising=False)
    run = run_pipeline(pipe, executor="process")
    assert run.status == "FAILED"
    assert "worker process died (exit code 3)" in (run.steps["crash"].error or "")
    monkeypatch.setenv("CRASH_OK", "1")  # workers forked from now on see it
    resumed = resume(run.id, executor="process")
    assert resumed.status == "FINISHED", resumed.error
    assert resumed.steps["base"].run_id == run.steps["base"].run_id
    assert resumed.output("crash") == 21


def test_retries_and_step_metrics_across_processes(project: Path) -> None:
    marker = project / "tries"
    pipe = _write(
        project,
        f"""
        from pathlib import Path
        import loopml

        @step(retries=1, cache=False)
        def flaky() -> dict:
            path = Path({str(marker)!r})
            n = int(path.read_text()) + 1 if path.exists() else 1
            path.write_text(str(n))
            loopml.log_metric("attempt", n)
            if n == 1:
                raise RuntimeError("first attempt fails")
            return {{"auc": 0.75}}

        @pipeline
        def p():
            flaky()
        """,
    )
    run = run_pipeline(pipe, executor="process")
    assert run.status == "FINISHED", run.error
    assert run.steps["flaky"].attempts == 2
    child = loopml.get_run(run.steps["flaky"].run_id)
    assert child.metrics == {"attempt": 2.0, "auc": 0.75}


def test_spawned_workers_get_everything_from_the_payload(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh interpreter (as on a Ray node) runs a step from a file-defined pipeline: the
    function travels by value and the settings travel in the payload, not via the cwd."""
    pipe = _write(
        project,
        """
        import os

        def helper(x):
            return x * 3

        @step
        def where(x: int) -> dict:
            return {"value": helper(x), "pid": os.getpid()}

        @pipeline
        def p(x: int = 5):
            where(x)
        """,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the worker's own project lookup would find nothing here
    with get_executor("process", max_workers=1, start_method="spawn") as exe:
        run = run_pipeline(pipe, executor=exe)
    assert run.status == "FINISHED", run.error
    out = run.output("where")
    assert out["value"] == 15
    import os

    assert out["pid"] != os.getpid()
    assert not (elsewhere / ".loopml").exists()


def test_run_task_is_a_self_contained_entry_point(project: Path) -> None:
    """What the Ray executor relies on: run_task(payload) -> pickled result dict."""
    import pickle

    import cloudpickle

    from loopml.pipeline.executors.base import run_task
    from loopml.pipeline.steps import step
    from loopml.pipeline.worker import TaskSpec
    from loopml.tracking.context import get_context

    @step
    def double(x: int) -> int:
        return x * 2

    spec = TaskSpec(
        node="double",
        step=double,
        inputs={},
        literals={"x": 21},
        output_types=[int],
        settings=get_context().settings,
    )
    result = pickle.loads(run_task(cloudpickle.dumps(spec)))
    assert result["ok"] and result["error"] is None
    (out,) = result["outputs"]
    assert out["materializer"] == "json"
    assert get_context().objects.get_bytes(out["hash"]) == b"42"
    broken = pickle.loads(run_task(b"not a pickle"))
    assert not broken["ok"] and "could not be unpickled" in broken["error"]["message"]


def test_unpicklable_step_runs_locally_and_is_refused_clearly_elsewhere(project: Path) -> None:
    pipe = _write(
        project,
        """
        import threading

        LOCK = threading.Lock()

        @step
        def guarded() -> int:
            with LOCK:
                return 7

        @pipeline
        def p():
            guarded()
        """,
    )
    assert run_pipeline(pipe).output("guarded") == 7
    run = run_pipeline(pipe, executor="process", cache=False)
    assert run.status == "FAILED"
    assert "step 'guarded' could not be sent to the process executor" in (run.error or "")
