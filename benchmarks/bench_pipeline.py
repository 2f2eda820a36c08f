"""Pipelines: loopml against DVC on a 10-step pipeline of no-op steps, in one run.

    .venv/bin/python benchmarks/setup_peers.py dvc     # once: DVC in .bench/dvc
    .venv/bin/python benchmarks/bench_pipeline.py      # ~1 minute
    .venv/bin/python benchmarks/bench_pipeline.py --steps 10 --repeat 5 --json out.json

The same chain on both sides: step i takes step i-1's output and does nothing else (loopml: a
``@step`` returning ``x + 1``; DVC: a stage running the shell built-in ``echo i > si.txt`` with
the previous file as its dependency). Each side runs in its own subprocess and fresh folder:

- **cold**: the first run, every step executes (an empty cache);
- **cached**: a re-run with nothing changed, every step is a cache hit (``dvc repro`` skips
  every stage); the median of ``--repeat`` re-runs.

Both as a user types the command (``loopml pipeline run noop.py:noop`` / ``dvc repro``: a fresh
process each time, interpreter start and imports included) and in one warm process through the
Python API (``run_pipeline`` / ``dvc.repo.Repo.reproduce``). Per-step overhead is the in-process
cold run divided by the number of steps (the steps themselves cost nothing), measured after a
one-step warm-up pipeline has paid the imports and the database migrations, as the tracking
benchmark does. Targets: per step <= 10 ms cold; cached <= 150 ms and >= 5x faster than DVC.
``python bench_pipeline.py --worker ...`` is the loopml side.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

from _common import (
    BENCH_DIR,
    PEERS_DIR,
    Row,
    WorkerError,
    fresh_dir,
    peer_python,
    render_table,
    run_worker,
    warn_if_busy,
    write_json,
)
from setup_peers import installed_version

DVC_SCRIPT = PEERS_DIR / "dvc_pipeline.py"
TARGET_STEP_MS = 10.0
TARGET_CACHED_MS = 150.0
TARGET_RATIO = 5.0


def pipeline_source(steps: int) -> str:
    """A module with ``steps`` chained no-op steps and the pipeline ``noop`` wiring them."""
    lines = ["from loopml.pipeline import pipeline, step", ""]
    for i in range(1, steps + 1):
        lines += ["", "@step", f"def s{i:02d}(x: int) -> int:", "    return x + 1", ""]
    lines += ["", "@pipeline", "def noop(start: int = 0) -> None:", "    x = start"]
    lines += [f"    x = s{i:02d}(x)" for i in range(1, steps + 1)]
    return "\n".join(lines) + "\n"


def _verify(run: Any, steps: int, *, cached: bool) -> None:
    if run.status != "FINISHED":
        sys.exit(f"verification failed: the run is {run.status}: {run.error}")
    if len(run.steps) != steps:
        sys.exit(f"verification failed: {len(run.steps)} steps ran, expected {steps}")
    hits = sum(1 for s in run.steps.values() if s.cache_hit)
    if hits != (steps if cached else 0):
        sys.exit(
            f"verification failed: {hits} cache hits on a {'cached' if cached else 'cold'} run"
        )
    if run.output(f"s{steps:02d}") != steps:
        sys.exit(f"verification failed: the last step returned {run.output(f's{steps:02d}')!r}")


CPU: list[float] = []  # CPU seconds (user + system) of each `loopml` command, in order


def _cli(args: list[str], cwd: Path) -> float:
    """Wall seconds of ``loopml args``; its CPU seconds go to :data:`CPU`."""
    loopml = str(Path(sys.executable).with_name("loopml"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([loopml, *args], cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        sys.exit(f"loopml {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return elapsed


def loopml_worker(steps: int, repeat: int, out: str) -> None:
    import loopml
    from loopml.pipeline import load_pipeline, run_pipeline

    root = Path.cwd()
    result: dict[str, Any] = {"version": package_version("loopml")}

    # The CLI, as a user types it: one fresh process per command, in its own project.
    cli_root = root / "cli"
    cli_root.mkdir()
    (cli_root / "loopml.toml").write_text("[loopml]\n")
    (cli_root / "noop.py").write_text(pipeline_source(steps))
    _cli(["db", "upgrade"], cli_root)  # as `dvc init`: not timed
    result["cli_cold_s"] = _cli(["pipeline", "run", "noop.py:noop"], cli_root)
    result["cli_cold_cpu_s"] = CPU[-1]
    samples = [_cli(["pipeline", "run", "noop.py:noop"], cli_root) for _ in range(repeat)]
    result["cli_cached_s"] = statistics.median(samples)
    result["cli_cached_samples"] = samples
    result["cli_cached_cpu_s"] = statistics.median(CPU[-repeat:])

    # The Python API in one warm process.
    api_root = root / "api"
    api_root.mkdir()
    (api_root / "loopml.toml").write_text("[loopml]\n")
    (api_root / "noop.py").write_text(pipeline_source(steps))
    (api_root / "warm.py").write_text(pipeline_source(1))
    os.chdir(api_root)
    loopml.configure(api_root)
    # Imports, migrations and the first run's setup; another start value, so no key is shared.
    run_pipeline(load_pipeline("warm.py:noop"), {"start": 1000})
    noop = load_pipeline("noop.py:noop")
    start, cpu = time.perf_counter(), time.process_time()
    cold = run_pipeline(noop)
    result["cold_s"] = time.perf_counter() - start
    result["cold_cpu_s"] = time.process_time() - cpu
    _verify(cold, steps, cached=False)
    samples, cpus = [], []
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        again = run_pipeline(noop)
        samples.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
        _verify(again, steps, cached=True)
    result["cached_s"] = statistics.median(samples)
    result["cached_samples"] = samples
    result["cached_cpu_s"] = statistics.median(cpus)
    result["step_durations_ms"] = {n: s.duration_ms for n, s in cold.steps.items()}
    Path(out).write_text(json.dumps(result))


def _rows(
    mine: dict[str, Any], dvc: dict[str, Any], steps: int, errors: dict[str, str]
) -> list[Row]:
    def ms(side: dict[str, Any], key: str, per: int = 1) -> float | None:
        value = side.get(key)
        return None if value is None else value * 1000 / per

    def row(workload: str, peer: float | None, ours: float | None, target: float | None) -> Row:
        return Row(
            workload=workload,
            unit="ms",
            higher_is_better=False,
            peer=peer,
            loopml=ours,
            target=target,
            peer_error=errors.get("dvc"),
            loopml_error=errors.get("loopml"),
        )

    dvc_cli_cached = ms(dvc, "cached_s")
    return [
        row(
            "cold run, per step, Python API",
            ms(dvc, "cold_in_process_s", steps),
            ms(mine, "cold_s", steps),
            TARGET_STEP_MS,
        ),
        row(
            f"cached {steps}-step re-run, Python API",
            ms(dvc, "cached_in_process_s"),
            ms(mine, "cached_s"),
            TARGET_CACHED_MS,
        ),
        row(f"cold {steps}-step run, CLI", ms(dvc, "cold_s"), ms(mine, "cli_cold_s"), None),
        row(
            f"cached {steps}-step re-run, CLI (`dvc repro`)",
            dvc_cli_cached,
            ms(mine, "cli_cached_s"),
            None if dvc_cli_cached is None else dvc_cli_cached / TARGET_RATIO,
        ),
    ]


def _print_ratios(mine: dict[str, Any], dvc: dict[str, Any], steps: int) -> None:
    """The cached re-run against `dvc repro` every way it can be read."""
    pairs = [
        ("loopml API vs `dvc repro` (CLI)", mine.get("cached_s"), dvc.get("cached_s")),
        ("loopml CLI vs `dvc repro` (CLI)", mine.get("cli_cached_s"), dvc.get("cached_s")),
        ("loopml API vs DVC API", mine.get("cached_s"), dvc.get("cached_in_process_s")),
    ]
    print(f"cached {steps}-step re-run, x faster than DVC (target >= {TARGET_RATIO:g}x):")
    for label, ours, theirs in pairs:
        if ours and theirs:
            ratio = theirs / ours
            verdict = "met" if ratio >= TARGET_RATIO else "missed"
            print(
                f"  {label}: {theirs * 1000:,.0f} / {ours * 1000:,.1f} ms = {ratio:.1f}x ({verdict})"
            )


def _print_cpu(mine: dict[str, Any], dvc: dict[str, Any], steps: int) -> None:
    """CPU seconds of the same work: what a busy machine does not inflate (wall time is)."""
    pairs = [
        (f"cold run, per step (loopml API; DVC CLI / {steps})", "cold_cpu_s", "cold_cpu_s", steps),
        (f"cached {steps}-step re-run, CLI", "cli_cached_cpu_s", "cached_cpu_s", 1),
        (f"cold {steps}-step run, CLI", "cli_cold_cpu_s", "cold_cpu_s", 1),
        (f"cached {steps}-step re-run, Python API", "cached_cpu_s", None, 1),
    ]
    print("CPU time (user + system), ms:")
    for label, mine_key, dvc_key, per in pairs:
        ours = mine.get(mine_key)
        theirs = dvc.get(dvc_key) if dvc_key else None
        line = f"  {label}: loopml {'-' if ours is None else f'{ours * 1000 / per:.1f}'}"
        if theirs is not None:
            line += f", DVC {theirs * 1000 / per:.1f}"
            if ours:
                line += f" ({theirs / ours:.1f}x)"
        print(line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=10, help="steps in the chain (default 10)")
    parser.add_argument("--repeat", type=int, default=5, help="cached re-runs (median kept)")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temp folders")
    parser.add_argument("--no-peer", action="store_true", help="loopml only")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        loopml_worker(args.steps, args.repeat, args.out)
        return 0

    # Under .bench/, not /tmp (see bench_data.py: /tmp's crowded inode groups slow file creation).
    tmp = BENCH_DIR / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    tempfile.tempdir = str(tmp)
    load = warn_if_busy()
    dvc_version = None if args.no_peer else installed_version("dvc")
    sizes = ["--steps", str(args.steps), "--repeat", str(args.repeat)]
    results: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    sides: list[tuple[str, Path | str, Path, list[str]]] = [
        ("loopml", sys.executable, Path(__file__), ["--worker"])
    ]
    if args.no_peer:
        errors["dvc"] = "skipped (--no-peer)"
    elif dvc_version is None:
        errors["dvc"] = "DVC is not installed: run `python benchmarks/setup_peers.py dvc`"
    else:
        sides.insert(0, ("dvc", peer_python("dvc"), DVC_SCRIPT, []))
    for side, python, script, extra in sides:
        print(f"[bench] {side}: {args.steps}-step pipeline ...", file=sys.stderr)
        with fresh_dir(f"pipeline-{side}", keep=args.keep) as cwd:
            try:
                results[side] = run_worker(python, script, [*extra, *sizes], cwd=cwd, timeout=900)
            except WorkerError as exc:
                errors[side] = str(exc)

    mine, dvc = results.get("loopml", {}), results.get("dvc", {})
    rows = _rows(mine, dvc, args.steps, errors)
    render_table(
        rows,
        f"DVC {dvc_version or '-'}",
        f"loopml pipeline vs DVC: {args.steps} no-op steps (wall ms; cached: median of "
        f"{args.repeat})",
    )
    _print_ratios(mine, dvc, args.steps)
    _print_cpu(mine, dvc, args.steps)
    if mine.get("step_durations_ms"):
        durations = mine["step_durations_ms"]
        print(
            "loopml step durations on the cold run (ms, as recorded): "
            + ", ".join(f"{k} {v}" for k, v in durations.items())
        )
    if args.json:
        write_json(
            args.json,
            rows,
            {
                "benchmark": "pipeline",
                "steps": args.steps,
                "load_avg_before": load,
                "dvc": dvc,
                "loopml": mine,
            },
        )
    return 1 if set(errors) - ({"dvc"} if args.no_peer else set()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
