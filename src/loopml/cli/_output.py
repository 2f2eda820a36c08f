"""Terminal output shared by every command: consoles, tables, JSON, errors, human units.

Output goes through Rich on a terminal (colour, tables, progress) and stays plain when piped:
no colour, no progress bars, and tables wide enough not to fold ids. ``--json`` output bypasses
Rich entirely so that it is exactly one JSON document on stdout.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

# Width of tables when stdout is not a terminal (a pipe, a file, a test): wide enough for ids.
PLAIN_WIDTH = 200

STATUS_STYLE = {
    "FINISHED": "green",
    "RUNNING": "cyan",
    "FAILED": "red",
    "KILLED": "yellow",
}


def _console(*, stderr: bool) -> Console:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    is_tty = stream.isatty()
    # Piped output is read by grep and scripts: a fixed width that never folds an id.
    width = None if is_tty else PLAIN_WIDTH
    return Console(
        file=stream,
        stderr=stderr,
        width=width,
        force_terminal=None if is_tty else False,
        highlight=False,
    )


def console() -> Console:
    """A console on stdout (made per call: tests swap ``sys.stdout`` between invocations)."""
    return _console(stderr=False)


def err_console() -> Console:
    return _console(stderr=True)


def is_terminal() -> bool:
    return sys.stdout.isatty()


def print_json(data: Any) -> None:
    """Exactly one JSON document on stdout (NaN and infinities become null)."""
    sys.stdout.write(
        orjson.dumps(
            data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
        ).decode()
        + "\n"
    )
    sys.stdout.flush()


def print_error(message: str) -> None:
    """``error: <message>`` in red on stderr, never re-wrapped (a caret must stay aligned)."""
    from rich.text import Text

    text = Text("error: ", style="bold red")
    text.append(message, style="red")
    err_console().print(text, soft_wrap=True)


def print_note(message: str) -> None:
    from rich.text import Text

    err_console().print(Text(message, style="dim"), soft_wrap=True)


def new_table(*columns: str, title: str | None = None, **kwargs: Any) -> Table:
    from rich import box
    from rich.table import Table

    table = Table(
        title=title,
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        header_style="bold",
        **kwargs,
    )
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


@contextmanager
def status(message: str) -> Iterator[None]:
    """A spinner on a terminal; nothing otherwise."""
    if not is_terminal():
        yield
        return
    with console().status(message):
        yield


# -- human units ----------------------------------------------------------------------------
def human_size(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def human_duration(ms: int | None) -> str:
    if ms is None or ms < 0:
        return "-"
    if ms < 1000:
        return f"{ms}ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, sec = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours:02d}h"


def human_time(ms: int | None, *, seconds: bool = True) -> str:
    """Local wall-clock time of a UTC millisecond timestamp."""
    if ms is None:
        return "-"
    fmt = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return datetime.fromtimestamp(ms / 1000).astimezone().strftime(fmt)


def human_number(value: float, digits: int = 6) -> str:
    if value != value:  # NaN
        return "nan"
    if value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.{digits}g}"


def short_id(run_id: str, length: int = 8) -> str:
    return run_id[:length]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def join_nonempty(parts: Sequence[str], sep: str = " ") -> str:
    return sep.join(p for p in parts if p)


def esc(value: object) -> str:
    """``value`` as text that Rich prints literally (no markup in user-provided names)."""
    from rich.markup import escape

    return escape(str(value))
