"""Helpers shared by the benchmarks: timing, peer subprocesses, the result table and JSON.

A benchmark compares loopml with a peer tool on the same work, on the same machine, in one run.
Each side runs as its own subprocess with its own python (loopml's venv, or the peer's venv under
``.bench/<peer>`` made by ``setup_peers.py``), in a fresh temporary folder, so neither pays the
other's imports and no state leaks between workloads. A worker writes its measurement as JSON to
the file named by ``--out``; stdout and stderr stay free for whatever the libraries print.

This module is imported by the orchestrators only (never by a peer script), and uses the standard
library plus Rich, which it imports when it draws the table.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / ".bench"
PEERS_DIR = Path(__file__).resolve().parent / "peers"

# Variables that would point either side somewhere else than the temp folder we give it.
_SCRUB_PREFIXES = ("LOOPML_", "MLFLOW_")
# Both sides get the same quiet environment: no telemetry thread, no colour codes in logs.
_QUIET_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "GIT_PYTHON_REFRESH": "quiet",
    "PYTHONDONTWRITEBYTECODE": "",
}


class WorkerError(RuntimeError):
    """A worker subprocess failed (or its verification did); the message carries its stderr."""


# -- timing -------------------------------------------------------------------------------------
@contextlib.contextmanager
def timer() -> Iterator[dict[str, float]]:
    """``with timer() as t: ...`` then ``t["seconds"]`` (perf_counter wall time)."""
    box: dict[str, float] = {}
    start = time.perf_counter()
    try:
        yield box
    finally:
        box["seconds"] = time.perf_counter() - start


def repeat_timed(fn: Callable[[], Any], repeat: int, warmup: int = 1) -> list[float]:
    """Wall seconds of ``repeat`` calls of ``fn`` after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def summarize(samples: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median": statistics.median(ordered),
        "min": ordered[0],
        "max": ordered[-1],
        "p90": ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))],
        "n": len(ordered),
    }


# -- subprocesses -------------------------------------------------------------------------------
def peer_python(name: str) -> Path:
    return BENCH_DIR / name / "bin" / "python"


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB_PREFIXES)}
    for key, value in _QUIET_ENV.items():
        if value:
            env[key] = value
        else:
            env.pop(key, None)
    env.update(extra or {})
    return env


@contextlib.contextmanager
def fresh_dir(prefix: str, keep: bool = False) -> Iterator[Path]:
    """A new empty temporary folder, removed afterwards unless ``keep``."""
    path = Path(tempfile.mkdtemp(prefix=f"loopml-bench-{prefix}-"))
    try:
        yield path
    finally:
        if keep:
            print(f"  kept {path}", file=sys.stderr)
        else:
            shutil.rmtree(path, ignore_errors=True)


def run_worker(
    python: str | Path,
    script: str | Path,
    args: Sequence[str],
    *,
    cwd: Path,
    timeout: float = 900,
) -> dict[str, Any]:
    """Run ``python script args --out <file>`` in ``cwd``; return the JSON it wrote."""
    out = cwd / "_result.json"
    cmd = [str(python), str(script), *args, "--out", str(out)]
    try:
        proc = subprocess.run(
            cmd, cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        raise WorkerError(f"timed out after {timeout:.0f} s: {' '.join(cmd)}") from exc
    if proc.returncode != 0 or not out.exists():
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise WorkerError(f"exit {proc.returncode}: {' '.join(cmd)}\n{tail}")
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def import_times(python: str | Path, module: str, repeat: int, warmup: int = 1) -> list[float]:
    """Wall seconds of ``python -c 'import module'`` in ``repeat`` fresh processes.

    The untimed warm-up run fills the page cache and writes ``.pyc`` files, as any second
    use on a machine would find them.
    """
    samples = []
    with fresh_dir("import") as cwd:
        env = clean_env()
        for i in range(warmup + repeat):
            start = time.perf_counter()
            proc = subprocess.run(
                [str(python), "-c", f"import {module}"],
                cwd=cwd,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            elapsed = time.perf_counter() - start
            if proc.returncode != 0:
                raise WorkerError(f"import {module} failed:\n{proc.stderr.strip()[-2000:]}")
            if i >= warmup:
                samples.append(elapsed)
    return samples


def write_worker_result(path: str | Path, result: dict[str, Any]) -> None:
    Path(path).write_text(json.dumps(result, indent=2))


# -- results ------------------------------------------------------------------------------------
@dataclass
class Row:
    """One workload measured on both sides, in one unit where ``higher_is_better`` says which way."""

    workload: str
    unit: str  # "values/s", "s", "ms"
    higher_is_better: bool
    peer: float | None = None
    loopml: float | None = None
    target: float | None = None  # loopml's target, in ``unit``
    description: str = ""
    peer_detail: dict[str, Any] = field(default_factory=dict)
    loopml_detail: dict[str, Any] = field(default_factory=dict)
    peer_error: str | None = None
    loopml_error: str | None = None

    @property
    def ratio(self) -> float | None:
        """How many times faster loopml is than the peer (> 1: loopml is faster)."""
        if not self.peer or not self.loopml:
            return None
        return self.loopml / self.peer if self.higher_is_better else self.peer / self.loopml

    @property
    def meets_target(self) -> bool | None:
        if self.target is None or self.loopml is None:
            return None
        return self.loopml >= self.target if self.higher_is_better else self.loopml <= self.target

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ratio"] = self.ratio
        data["meets_target"] = self.meets_target
        return data


def fmt_value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "values/s":
        return f"{value:,.0f} values/s"
    if unit == "ms":
        return f"{value:.1f} ms" if value < 100 else f"{value:,.0f} ms"
    if unit == "s":
        return f"{value:.3f} s" if value < 1 else f"{value:.2f} s"
    return f"{value:g} {unit}"


def fmt_target(row: Row) -> str:
    if row.target is None:
        return "-"
    sign = ">=" if row.higher_is_better else "<="
    text = f"{sign} {fmt_value(row.target, row.unit).replace(' values', '')}"
    met = row.meets_target
    return text if met is None else f"{text} {'met' if met else 'MISSED'}"


def render_table(rows: Sequence[Row], peer_label: str, title: str) -> None:
    """Print workload | peer | loopml | ratio | target as a Rich table."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column("workload")
    table.add_column(peer_label, justify="right")
    table.add_column("loopml", justify="right")
    table.add_column("ratio (x faster)", justify="right")
    table.add_column("loopml target", justify="right")
    for row in rows:
        ratio = row.ratio
        target = fmt_target(row)
        if row.meets_target is False:
            target = f"[red]{target}[/red]"
        elif row.meets_target:
            target = f"[green]{target}[/green]"
        table.add_row(
            row.workload,
            "error" if row.peer_error else fmt_value(row.peer, row.unit),
            "error" if row.loopml_error else fmt_value(row.loopml, row.unit),
            "-" if ratio is None else f"{ratio:,.1f}x",
            target,
        )
    console = Console()
    if not console.is_terminal:  # piped into a file or CI log: one line per workload
        console.width = max(console.width, 110)
    console.print(table)
    for row in rows:
        for side, err in ((peer_label, row.peer_error), ("loopml", row.loopml_error)):
            if err:
                console.print(f"[red]{row.workload} / {side}:[/red] {err}", markup=True)


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "cores": os.cpu_count(),
        "cpu": cpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def warn_if_busy(threshold: float = 0.5) -> float:
    """Other processes skew a benchmark; say so when the 1-minute load average is high."""
    load = os.getloadavg()[0]
    if load > threshold:
        print(
            f"[bench] note: load average is {load:.2f} on {os.cpu_count()} cores; "
            "other processes may slow both sides",
            file=sys.stderr,
        )
    return load


def write_json(path: str | Path, rows: Sequence[Row], meta: dict[str, Any]) -> None:
    payload = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        **meta,
        "results": [row.to_dict() for row in rows],
    }
    Path(path).write_text(json.dumps(payload, indent=2))
