"""Live progress of ``loopml pipeline run``: one line per step with its status and time.

The runner hands steps to an executor and waits on their futures; :class:`WatchedExecutor`
wraps the chosen executor to see each step start and end without the runner knowing. Steps
served from the cache never reach an executor: they show up in the final table, which is drawn
from the run's record. On a terminal the lines redraw in place (Rich ``Live``); elsewhere the
command stays quiet until the summary.
"""

from __future__ import annotations

import pickle
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from loopml.cli._output import esc, human_duration, is_terminal
from loopml.cli.pipeline_view import status_text
from loopml.pipeline.executors.base import Executor

if TYPE_CHECKING:
    from rich.console import RenderableType

    from loopml.pipeline.executors.base import StepTask

__all__ = ["StepBoard", "WatchedExecutor", "live_progress"]


class StepBoard:
    """What each step is doing, updated from executor threads, drawn by the Live thread."""

    def __init__(self, steps: list[str]) -> None:
        self._lock = threading.Lock()
        self.state: dict[str, tuple[str, float | None, float | None]] = dict.fromkeys(
            steps, ("PENDING", None, None)
        )

    def started(self, step: str) -> None:
        with self._lock:
            self.state[step] = ("RUNNING", time.perf_counter(), None)

    def ended(self, step: str, status: str, duration_ms: float | None) -> None:
        with self._lock:
            started = self.state.get(step, ("", None, None))[1]
            if duration_ms is None and started is not None:
                duration_ms = (time.perf_counter() - started) * 1000
            self.state[step] = (status, started, duration_ms)

    def render(self) -> RenderableType:
        from rich.table import Table

        table = Table.grid(padding=(0, 2))
        now = time.perf_counter()
        with self._lock:
            rows = list(self.state.items())
        for step, (status, started, duration) in rows:
            if status == "RUNNING" and started is not None:
                timing = f"[cyan]{now - started:.1f}s[/]"
            elif duration is not None:
                timing = human_duration(round(duration))
            else:
                timing = ""
            shown = "[dim]waiting[/]" if status == "PENDING" else status_text(status)
            table.add_row(esc(step), shown, timing)
        return table


class WatchedExecutor(Executor):
    """An executor that reports each submitted step to a :class:`StepBoard`."""

    def __init__(self, inner: Executor, board: StepBoard) -> None:
        self.inner = inner
        self.board = board
        self.name = inner.name

    def submit(self, task: StepTask) -> Future[bytes]:
        self.board.started(task.step)
        future = self.inner.submit(task)
        future.add_done_callback(lambda f: self._done(task.step, f))
        return future

    def _done(self, step: str, future: Future[bytes]) -> None:
        status, duration = "FAILED", None
        if future.exception() is None:
            try:
                result: dict[str, Any] = pickle.loads(future.result())  # noqa: S301 -- our worker
            except Exception:
                result = {}
            if result.get("ok"):
                status, duration = "FINISHED", result.get("duration_ms")
        self.board.ended(step, status, duration)

    def close(self) -> None:
        self.inner.close()


@contextmanager
def live_progress(board: StepBoard, *, enabled: bool | None = None) -> Iterator[None]:
    """Redraw ``board`` in place while the block runs (on a terminal only)."""
    if not (is_terminal() if enabled is None else enabled):
        yield
        return
    from rich.live import Live

    from loopml.cli._output import console

    with Live(get_renderable=board.render, console=console(), refresh_per_second=8, transient=True):
        yield
