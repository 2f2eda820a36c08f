"""Bad input and failure: each gives a clear error naming the step; nothing half-written is
recorded; a failed run resumes from where it broke."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopml.errors import StepFailedError
from loopml.pipeline import get_pipeline_run, resume, run_pipeline
from loopml.pipeline._stores import pipeline_store

from .conftest import WritePipeline, statuses

BRANCHY = """
import os

@step
def source() -> int:
    return 1

@step
def fragile(x: int) -> int:
    if os.environ.get("FRAGILE_OK") != "1":
        raise ValueError("not today")
    return x + 1

@step
def after_fragile(x: int) -> int:
    return x * 10

@step
def independent(x: int) -> int:
    return x - 1

@pipeline
def p():
    s = source()
    after_fragile(fragile(s))
    independent(s)
"""


def test_failed_step_fails_the_run_and_skips_downstream(
    write_pipeline: WritePipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FRAGILE_OK", raising=False)
    run = run_pipeline(write_pipeline(BRANCHY))
    assert run.status == "FAILED"
    assert statuses(run) == {
        "source": "FINISHED",
        "fragile": "FAILED",
        "after_fragile": "SKIPPED",
        "independent": "FINISHED",
    }
    assert "step 'fragile' failed: ValueError: not today" in (run.error or "")
    assert run.steps["fragile"].outputs == []
    with pytest.raises(StepFailedError, match="fragile") as info:
        run.raise_for_status()
    assert info.value.details["step"] == "fragile"
    assert get_pipeline_run(run.id).status == "FAILED"


def test_resume_reruns_only_failed_and_downstream(
    write_pipeline: WritePipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FRAGILE_OK", raising=False)
    pipe = write_pipeline(BRANCHY)
    failed = run_pipeline(pipe)
    kept = {n: failed.steps[n].run_id for n in ("source", "independent")}
    monkeypatch.setenv("FRAGILE_OK", "1")
    resumed = resume(failed.id)
    assert resumed.id == failed.id
    assert resumed.status == "FINISHED" and resumed.error is None
    assert statuses(resumed) == {
        "source": "FINISHED",
        "fragile": "FINISHED",
        "after_fragile": "FINISHED",
        "independent": "FINISHED",
    }
    # completed steps were not run again: same nested tracking runs
    assert {n: resumed.steps[n].run_id for n in kept} == kept
    assert resumed.output("after_fragile") == 20
    from loopml.errors import InvalidStateError

    with pytest.raises(InvalidStateError, match="nothing to resume"):
        resume(failed.id)


def test_wrong_return_type_names_the_step(write_pipeline: WritePipeline) -> None:
    run = run_pipeline(
        write_pipeline(
            """
            @step
            def liar() -> int:
                return "not an int"

            @pipeline
            def p():
                liar()
            """
        )
    )
    assert run.status == "FAILED"
    assert "step 'liar' returned builtins.str, but its annotation allows only int" in run.error
    assert run.steps["liar"].outputs == []


def test_tuple_output_count_and_types_checked(write_pipeline: WritePipeline) -> None:
    run = run_pipeline(
        write_pipeline(
            """
            @step
            def pair() -> tuple[int, str]:
                return 1, 2

            @step
            def short() -> tuple[int, int]:
                return (1,)

            @pipeline
            def p():
                pair()
                short()
            """
        )
    )
    assert "output 1 of step 'pair' returned builtins.int" in run.steps["pair"].error
    assert "declares 2 outputs" in run.steps["short"].error


def test_unpicklable_output_names_the_step_and_records_nothing(
    write_pipeline: WritePipeline, project: Path
) -> None:
    run = run_pipeline(
        write_pipeline(
            """
            import threading

            @step
            def lock():
                return [1], threading.Lock()

            @step
            def ok_then_bad() -> tuple[int, object]:
                return 5, threading.Lock()

            @pipeline
            def p():
                lock()
                ok_then_bad()
            """
        )
    )
    bad = run.steps["ok_then_bad"]
    assert bad.status == "FAILED"
    assert "step 'ok_then_bad': output 1 (_thread.lock) could not be stored" in bad.error
    assert bad.outputs == []
    _, steps = pipeline_store().get_run(run.id)
    assert all(s.outputs == [] for s in steps)  # no half-written output recorded


def test_retries_run_a_flaky_step_again(write_pipeline: WritePipeline, project: Path) -> None:
    counter = project / "attempts.txt"
    run = run_pipeline(
        write_pipeline(
            f"""
            from pathlib import Path

            @step(retries=2, cache=False)
            def flaky() -> int:
                path = Path({str(counter)!r})
                n = int(path.read_text()) + 1 if path.exists() else 1
                path.write_text(str(n))
                if n < 3:
                    raise RuntimeError(f"attempt {{n}}")
                return n

            @pipeline
            def p():
                flaky()
            """
        )
    )
    assert run.status == "FINISHED", run.error
    assert run.steps["flaky"].attempts == 3
    assert run.output("flaky") == 3


def test_local_timeout_fails_the_step(write_pipeline: WritePipeline) -> None:
    run = run_pipeline(
        write_pipeline(
            """
            import time

            @step(timeout=0.2)
            def slow() -> int:
                time.sleep(1.0)
                return 1

            @pipeline
            def p():
                slow()
            """
        )
    )
    assert run.status == "FAILED"
    assert "step 'slow' timed out after 0.2 s" in run.error


def test_unknown_executor_and_bad_step_options() -> None:
    from loopml.errors import InvalidParameterError
    from loopml.pipeline import get_executor, step

    with pytest.raises(InvalidParameterError, match="unknown executor 'warp'"):
        get_executor("warp")
    with pytest.raises(InvalidParameterError, match="retries"):
        step(retries=-1)(lambda: 1)
    with pytest.raises(InvalidParameterError, match="timeout"):
        step(timeout=0)(lambda: 1)
    with pytest.raises(InvalidParameterError, match="step name 'a/b'"):
        step(name="a/b")(lambda: 1)


def test_resume_guards(write_pipeline: WritePipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    from loopml.errors import InvalidStateError, NotFoundError

    monkeypatch.delenv("FRAGILE_OK", raising=False)
    failed = run_pipeline(write_pipeline(BRANCHY))
    store = pipeline_store()
    store.reopen_run(failed.id, 0)  # as if its process had died mid-run
    with pytest.raises(InvalidStateError, match="still RUNNING"):
        resume(failed.id)
    monkeypatch.setenv("FRAGILE_OK", "1")
    assert resume(failed.id, force=True).status == "FINISHED"
    with pytest.raises(NotFoundError, match="no pipeline run 'nope'"):
        resume("nope")


def test_pipeline_definition_errors() -> None:
    from loopml.errors import InvalidParameterError
    from loopml.pipeline import pipeline, step

    @step
    def one() -> int:
        return 1

    @pipeline
    def empty() -> None:
        pass

    @pipeline
    def returns_data() -> int:
        one()
        return 3

    with pytest.raises(InvalidParameterError, match="calls no step"):
        empty.build()
    with pytest.raises(InvalidParameterError, match="returned int"):
        returns_data.build()
    with pytest.raises(InvalidParameterError, match="takes \\*args"):
        pipeline(lambda *a: None).params  # noqa: B018
    from loopml.errors import InvalidStateError

    with pytest.raises(InvalidStateError, match="takes a @pipeline"):
        run_pipeline(42)  # type: ignore[arg-type]
