"""The demo's stages: a header per stage, what it did, how long it took, and the summary.

A stage that needs a part of loopml this install lacks is *skipped* (the demo goes on with what
it can show); a stage that fails stops the demo, and the command exits non-zero with the
stage's error, so a broken loop is never reported as a success.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from loopml.cli._output import console, esc, new_table

__all__ = ["PartMissingError", "Stage", "Stages"]


class PartMissingError(Exception):
    """A stage cannot run because a part of loopml is not installed or not available."""


@dataclass
class Stage:
    title: str
    result: str = ""
    status: str = "ok"  # ok | skipped | failed
    seconds: float = 0.0

    def say(self, text: str) -> None:
        """One line of what happened, under the stage's header."""
        console().print(f"  {text}", soft_wrap=True)

    def done(self, result: str) -> None:
        """The one-line result for the summary table."""
        self.result = result


class Stages:
    """Runs and records the demo's stages in order."""

    def __init__(self) -> None:
        self.stages: list[Stage] = []
        self.started = time.perf_counter()

    def get(self, title: str) -> Stage | None:
        return next((s for s in self.stages if s.title == title), None)

    def ok(self, title: str) -> bool:
        stage = self.get(title)
        return stage is not None and stage.status == "ok"

    @contextmanager
    def stage(self, title: str) -> Iterator[Stage]:
        out = console()
        stage = Stage(title)
        self.stages.append(stage)
        out.print()
        out.rule(f"[bold]{len(self.stages)}. {esc(title)}[/]", align="left", style="dim")
        started = time.perf_counter()
        try:
            yield stage
        except PartMissingError as exc:
            stage.status, stage.result = "skipped", str(exc)
            out.print(f"  [yellow]skipped:[/] {esc(str(exc))}", soft_wrap=True)
        except BaseException:
            stage.status = "failed"
            stage.result = stage.result or "failed"
            raise
        finally:
            stage.seconds = time.perf_counter() - started
        if stage.status == "ok":
            out.print(f"  [green]✓[/] {esc(stage.result)} [dim]({stage.seconds:.1f}s)[/]")

    def skip(self, title: str, reason: str) -> None:
        """Record a stage that cannot run because an earlier one did not."""
        with self.stage(title):
            raise PartMissingError(reason)

    def summary(self) -> None:
        elapsed = time.perf_counter() - self.started
        table = new_table("#", "stage", "result", "time", title=f"The loop in {elapsed:.1f}s")
        style = {"ok": "green", "skipped": "yellow", "failed": "red"}
        for i, stage in enumerate(self.stages, 1):
            table.add_row(
                str(i),
                f"[{style[stage.status]}]{esc(stage.title)}[/]",
                esc(stage.result),
                f"{stage.seconds:.1f}s",
            )
        console().print()
        console().print(table)
