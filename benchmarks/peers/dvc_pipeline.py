"""DVC's side of benchmarks/bench_pipeline.py; runs inside .bench/dvc with its own python.

    .bench/dvc/bin/python benchmarks/peers/dvc_pipeline.py --steps 10 --repeat 5 --out r.json

Run from an empty folder. Standard library only, plus the ``dvc`` command of the same venv (the
CLI a DVC user types) and, for the in-process figure, ``dvc.repo.Repo``. The pipeline mirrors
loopml's side: ``steps`` no-op stages in a chain, stage i reading stage i-1's output and writing
its own one-line file (``echo`` is a shell built-in: the command itself costs next to nothing).
Timed: the first ``dvc repro`` (every stage runs) and ``dvc repro`` with nothing changed (every
stage is skipped), each as a fresh ``dvc`` process; then the same cached re-run, and a cold run
in a second repo, through the Python API in one warm process. Verified by the outputs' contents and by ``dvc status`` saying
the pipeline is up to date.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def dvc_yaml(steps: int) -> str:
    lines = ["stages:"]
    for i in range(1, steps + 1):
        lines.append(f"  s{i:02d}:")
        lines.append(f"    cmd: echo {i} > s{i:02d}.txt")
        if i > 1:
            lines.append(f"    deps: [s{i - 1:02d}.txt]")
        lines.append(f"    outs: [s{i:02d}.txt]")
    return "\n".join(lines) + "\n"


CPU: list[float] = []  # CPU seconds (user + system) of each timed command, in order


def timed(cmd: list[str]) -> float:
    """Wall seconds of ``cmd``; its CPU seconds go to :data:`CPU` (robust to other load)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return elapsed


def verify(root: Path, steps: int) -> None:
    for i in range(1, steps + 1):
        got = (root / f"s{i:02d}.txt").read_text().strip()
        if got != str(i):
            sys.exit(f"verification failed: s{i:02d}.txt holds {got!r}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    dvc = str(Path(sys.executable).with_name("dvc"))
    root = Path.cwd()
    subprocess.run([dvc, "init", "--no-scm", "-q"], check=True, capture_output=True)
    subprocess.run([dvc, "config", "core.analytics", "false"], check=True, capture_output=True)
    (root / "dvc.yaml").write_text(dvc_yaml(args.steps))

    cold = timed([dvc, "repro"])
    cold_cpu = CPU[-1]
    verify(root, args.steps)
    cached = [timed([dvc, "repro"]) for _ in range(args.repeat)]
    cached_cpu = CPU[-args.repeat :]
    status = subprocess.run([dvc, "status"], capture_output=True, text=True, check=True)
    if "up to date" not in status.stdout:
        sys.exit(f"verification failed: dvc status says\n{status.stdout}")

    # This folder holds dvc_data.py (bench_data's peer), which would shadow DVC's own
    # ``dvc_data`` package: import DVC without it on the path.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    from dvc import __version__
    from dvc.repo import Repo

    logging.getLogger("dvc").setLevel(logging.WARNING)  # no "didn't change, skipping" lines
    in_process = []
    with Repo(str(root)) as repo:
        repo.reproduce()  # warm: imports and the index
        for _ in range(args.repeat):
            start = time.perf_counter()
            ran = repo.reproduce()
            in_process.append(time.perf_counter() - start)
            if ran:
                sys.exit(f"verification failed: a cached reproduce ran {len(ran)} stages")
    verify(root, args.steps)

    # A cold run through the Python API too (imports are warm by now), in a second repo beside
    # this one (a repo inside another would be read as its subrepo).
    with tempfile.TemporaryDirectory(prefix="dvc-api-cold-", dir=root.parent) as tmp:
        cold_root = Path(tmp)
        subprocess.run(
            [dvc, "init", "--no-scm", "-q"], cwd=cold_root, check=True, capture_output=True
        )
        (cold_root / "dvc.yaml").write_text(dvc_yaml(args.steps))
        os.chdir(cold_root)  # DVC resolves stage paths from the working directory
        try:
            with Repo(str(cold_root)) as repo:
                start = time.perf_counter()
                ran = repo.reproduce()
                cold_in_process = time.perf_counter() - start
        finally:
            os.chdir(root)
        if len(ran) != args.steps:
            sys.exit(f"verification failed: a cold reproduce ran {len(ran)} stages")
        verify(cold_root, args.steps)
    result = {
        "cold_s": cold,
        "cached_s": statistics.median(cached),
        "cached_samples": cached,
        "cold_cpu_s": cold_cpu,
        "cached_cpu_s": statistics.median(cached_cpu),
        "cold_in_process_s": cold_in_process,
        "cached_in_process_s": statistics.median(in_process),
        "cached_in_process_samples": in_process,
        "version": __version__,
    }
    Path(args.out).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
