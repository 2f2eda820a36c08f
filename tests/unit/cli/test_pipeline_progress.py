"""Live progress of ``loopml pipeline run``: the executor wrapper sees each step start and end."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from loopml.cli.pipeline_progress import StepBoard, WatchedExecutor, live_progress
from loopml.pipeline import get_executor, load_pipeline, run_pipeline

PIPELINE = """
from loopml.pipeline import pipeline, step


@step
def ok(x: int) -> int:
    return x + 1


@step
def boom(x: int) -> int:
    raise ValueError("no")


@step
def after(x: int) -> int:
    return x


@pipeline
def p(x: int = 1) -> None:
    after(boom(ok(x)))
"""


def text_of(board: StepBoard) -> str:
    console = Console(width=120, record=True, force_terminal=False)
    console.print(board.render())
    return console.export_text()


def test_the_board_follows_each_step(project: Path) -> None:
    (project / "p.py").write_text(PIPELINE)
    board = StepBoard(["ok", "boom", "after"])
    assert text_of(board).count("waiting") == 3
    pipe = load_pipeline("p.py:p")
    with WatchedExecutor(get_executor("local"), board) as exe, live_progress(board, enabled=True):
        run = run_pipeline(pipe, executor=exe)
    assert run.status == "FAILED" and run.executor == "local"
    state = {name: status for name, (status, _, _) in board.state.items()}
    assert state == {"ok": "FINISHED", "boom": "FAILED", "after": "PENDING"}
    shown = text_of(board)
    assert "FINISHED" in shown and "FAILED" in shown and "waiting" in shown
    assert board.state["ok"][2] is not None  # the step's own duration, from the worker


def test_quiet_off_a_terminal() -> None:
    board = StepBoard(["a"])
    with live_progress(board):  # stdout is captured here: no Live display
        board.started("a")
        board.ended("a", "FINISHED", None)
    status, started, duration = board.state["a"]
    assert status == "FINISHED" and started is not None and duration is not None
