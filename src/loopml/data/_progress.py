"""Progress bars for long data operations: Rich on a terminal (stderr), silent otherwise."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Advance = Callable[[int], None]


def _noop(_: int) -> None:
    return None


@contextmanager
def progress_bar(
    description: str, total: int, *, enabled: bool | None = None, unit: str = "bytes"
) -> Iterator[Advance]:
    """Yields ``advance(n)``; a bar is drawn only on a terminal (or when ``enabled``)."""
    show = sys.stderr.isatty() if enabled is None else enabled
    if not show or total <= 0:
        yield _noop
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (
        (DownloadColumn(), TransferSpeedColumn()) if unit == "bytes" else (MofNCompleteColumn(),)
    )
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        *columns,
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=total)

        def advance(n: int) -> None:
            bar.advance(task, n)

        yield advance
