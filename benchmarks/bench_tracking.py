"""Tracking: loopml against MLflow on the same work, on the same machine, in one run.

    .venv/bin/python benchmarks/setup_peers.py        # once: MLflow in .bench/mlflow
    .venv/bin/python benchmarks/bench_tracking.py     # all workloads (a few minutes)
    .venv/bin/python benchmarks/bench_tracking.py --quick --only log_metric --json out.json

Every workload runs each side in its own subprocess (loopml with this python, MLflow with
.bench/mlflow/bin/python running benchmarks/peers/mlflow_tracking.py) in a fresh temp folder
with a SQLite store, and reads the values back from the store after the flush before it reports.
``python bench_tracking.py --worker WORKLOAD ...`` is the loopml side of one workload.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import time
from dataclasses import dataclass
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

from _common import (
    PEERS_DIR,
    Row,
    WorkerError,
    fresh_dir,
    import_times,
    peer_python,
    render_table,
    run_worker,
    summarize,
    warn_if_busy,
    write_json,
)
from setup_peers import installed_version

FILTER = "metrics.m0 < 0.5 and params.p0 = 'x'"
ORDER_BY = ["metrics.m1 ASC"]
MLFLOW_SCRIPT = PEERS_DIR / "mlflow_tracking.py"


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    unit: str
    higher_is_better: bool
    target: float
    # sizes as (full, quick): loopml's and MLflow's (MLflow's is smaller where it is slow)
    loopml_n: tuple[int, int]
    mlflow_n: tuple[int, int]


WORKLOADS = {
    w.name: w
    for w in (
        Workload(
            "log_metric",
            "single log_metric calls into one run, then flush",
            "values/s",
            True,
            100_000,
            (200_000, 20_000),
            (5_000, 1_000),
        ),
        Workload(
            "log_batch",
            "log_batch of 1,000 values per call into one run, then flush",
            "values/s",
            True,
            300_000,
            (1_000_000, 100_000),
            (100_000, 20_000),
        ),
        Workload(
            "runs",
            "per 1,000 runs: start_run, log_params (5), log_metric x5, end_run",
            "s",
            False,
            1.0,
            (1_000, 200),
            (200, 50),
        ),
        Workload(
            "search",
            f'search_runs over 1,000 runs: "{FILTER}" by m1 (median of 20)',
            "ms",
            False,
            10.0,
            (1_000, 1_000),
            (1_000, 1_000),
        ),
        Workload(
            "import",
            "python -c 'import loopml' / 'import mlflow', median of 5 fresh processes",
            "s",
            False,
            0.2,
            (5, 5),
            (5, 5),
        ),
    )
}


# ===============================================================================================
# loopml's side (runs in a subprocess: ``bench_tracking.py --worker NAME``); mirrors
# benchmarks/peers/mlflow_tracking.py, with the same data.
# ===============================================================================================
def run_data(n: int, seed: int = 7) -> list[tuple[dict[str, str], dict[str, float]]]:
    """The params and metrics of ``n`` runs (identical in the MLflow worker)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        params = {
            "p0": "x" if rng.random() < 0.5 else "y",
            "p1": f"{rng.random():.6f}",
            "p2": str(int(rng.random() * 100)),
            "p3": "adam" if rng.random() < 0.5 else "sgd",
            "p4": str(i),
        }
        metrics = {f"m{j}": rng.random() for j in range(5)}
        out.append((params, metrics))
    return out


def fail(message: str) -> None:
    sys.exit(f"verification failed: {message}")


def db_count(db: Path, sql: str, *args: object) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(sql, args).fetchone()[0])


def loopml_setup(cwd: Path) -> tuple[Any, Path]:
    import loopml

    db = cwd / "loopml.db"
    loopml.configure(cwd, db_url=f"sqlite:///{db}", object_store=str(cwd / "objects"))
    loopml.set_experiment("bench")  # creates the database and runs the migrations
    return loopml, db


def lw_log_metric(n: int, cwd: Path) -> dict[str, Any]:
    loopml, db = loopml_setup(cwd)
    values = [1.0 / (1 + i) for i in range(n)]
    run_id = loopml.start_run().run_id
    log_metric = loopml.log_metric
    start = time.perf_counter()
    for i in range(n):
        log_metric("loss", values[i], step=i)
    written = loopml.flush()
    seconds = time.perf_counter() - start
    history = loopml.get_metric_history(run_id, "loss")
    loopml.end_run()
    rows = db_count(db, "SELECT COUNT(*) FROM metrics WHERE run_id = ? AND key = 'loss'", run_id)
    if len(history) != n or rows != n:
        fail(f"{n} values logged, history has {len(history)}, table has {rows}")
    by_step = {m.step: m.value for m in history}
    if by_step.get(n - 1) != values[-1] or sorted(by_step) != list(range(n)):
        fail("history does not hold the logged steps and values")
    return {"n": n, "seconds": seconds, "verified_rows": rows, "written_by_final_flush": written}


def lw_log_batch(n: int, cwd: Path, batch: int) -> dict[str, Any]:
    import numpy as np

    loopml, db = loopml_setup(cwd)
    values = 1.0 / (1.0 + np.arange(n, dtype=np.float64))
    steps = np.arange(n, dtype=np.int64)
    run_id = loopml.start_run().run_id
    start = time.perf_counter()
    for lo in range(0, n, batch):
        loopml.log_batch("loss", values[lo : lo + batch], steps[lo : lo + batch])
    loopml.flush()
    seconds = time.perf_counter() - start
    history = loopml.get_metric_history(run_id, "loss")
    loopml.end_run()
    rows = db_count(db, "SELECT COUNT(*) FROM metrics WHERE run_id = ? AND key = 'loss'", run_id)
    if len(history) != n or rows != n:
        fail(f"{n} values logged, history has {len(history)}, table has {rows}")
    if {m.step for m in history} != set(range(n)):
        fail("history does not hold every logged step")
    return {"n": n, "seconds": seconds, "verified_rows": rows, "batch": batch}


def log_runs(loopml: Any, data: list[tuple[dict[str, str], dict[str, float]]]) -> str:
    """The timed work: one fluent run per item; returns the last run's id."""
    run_id = ""
    for params, metrics in data:
        with loopml.start_run() as run:
            loopml.log_params(params)
            for key, value in metrics.items():
                loopml.log_metric(key, value)
        run_id = run.run_id
    return run_id


def verify_runs(loopml: Any, db: Path, data: list[Any], last_run_id: str) -> dict[str, int]:
    n = len(data)
    exp = "(SELECT experiment_id FROM experiments WHERE name = 'bench')"
    runs = db_count(
        db, f"SELECT COUNT(*) FROM runs WHERE experiment_id = {exp} AND status = 'FINISHED'"
    )
    params = db_count(
        db,
        "SELECT COUNT(*) FROM params p JOIN runs r ON r.run_id = p.run_id "
        f"WHERE r.experiment_id = {exp}",
    )
    metrics = db_count(
        db,
        "SELECT COUNT(*) FROM metrics m JOIN runs r ON r.run_id = m.run_id "
        f"WHERE r.experiment_id = {exp}",
    )
    if (runs, params, metrics) != (n, 5 * n, 5 * n):
        fail(
            f"expected {n} finished runs, {5 * n} params and metrics; got {runs}, {params}, {metrics}"
        )
    last = loopml.get_run(last_run_id)
    if last.params != data[-1][0] or last.metrics != data[-1][1]:
        fail("the last run does not hold the params and metrics logged")
    return {"runs": runs, "params": params, "metrics": metrics}


def lw_runs(n: int, cwd: Path) -> dict[str, Any]:
    loopml, db = loopml_setup(cwd)
    data = run_data(n)
    start = time.perf_counter()
    last_run_id = log_runs(loopml, data)
    seconds = time.perf_counter() - start
    return {"n": n, "seconds": seconds, "verified": verify_runs(loopml, db, data, last_run_id)}


def lw_search(n: int, cwd: Path, reps: int) -> dict[str, Any]:
    loopml, db = loopml_setup(cwd)
    data = run_data(n)
    verify_runs(loopml, db, data, log_runs(loopml, data))
    expected = sorted((m["m1"], p["p4"]) for p, m in data if m["m0"] < 0.5 and p["p0"] == "x")

    def search() -> Any:
        return loopml.search_runs("bench", filter=FILTER, order_by=ORDER_BY, max_results=1000)

    search()  # warm-up, as in the MLflow worker
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        result = search()
        samples.append(time.perf_counter() - start)
    got = [(r.metrics["m1"], r.params["p4"]) for r in result]
    if got != expected:
        fail(f"search returned {len(got)} runs, expected {len(expected)} (in m1 order)")
    return {
        "n": n,
        "reps": reps,
        "median_s": statistics.median(samples),
        "samples_s": samples,
        "matches": len(got),
    }


def loopml_worker(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench_tracking.py --worker")
    parser.add_argument("workload", choices=["log_metric", "log_batch", "runs", "search"])
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    cwd = Path.cwd()
    if args.workload == "log_metric":
        result = lw_log_metric(args.n, cwd)
    elif args.workload == "log_batch":
        result = lw_log_batch(args.n, cwd, args.batch)
    elif args.workload == "runs":
        result = lw_runs(args.n, cwd)
    else:
        result = lw_search(args.n, cwd, args.reps)
    import loopml

    result["version"] = loopml.__version__
    Path(args.out).write_text(json.dumps(result, indent=2))


# ===============================================================================================
# The orchestrator: runs both sides of each workload and prints the table.
# ===============================================================================================
def measure(side: str, w: Workload, n: int, reps: int, keep: bool) -> tuple[float, dict[str, Any]]:
    """One side of one workload in a fresh subprocess and temp folder: (value in w.unit, detail)."""
    if w.name == "import":
        python = sys.executable if side == "loopml" else peer_python("mlflow")
        samples = import_times(python, side, repeat=n)
        stats = summarize(samples)
        return stats["median"], {"samples_s": samples, **stats}
    args = [w.name, "--n", str(n), "--reps", str(reps)]
    with fresh_dir(side, keep) as cwd:
        if side == "loopml":
            detail = run_worker(
                sys.executable, Path(__file__).resolve(), ["--worker", *args], cwd=cwd
            )
        else:
            detail = run_worker(peer_python("mlflow"), MLFLOW_SCRIPT, args, cwd=cwd)
    if w.name in ("log_metric", "log_batch"):
        return detail["n"] / detail["seconds"], detail
    if w.name == "runs":
        return detail["seconds"] * 1000 / detail["n"], detail
    return detail["median_s"] * 1000, detail


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        loopml_worker(argv[1:])
        return 0
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes (about a minute)")
    parser.add_argument(
        "--only", action="append", metavar="NAME", help=f"run only these ({', '.join(WORKLOADS)})"
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON here")
    parser.add_argument("--no-peer", action="store_true", help="measure loopml only")
    parser.add_argument("--reps", type=int, default=20, help="search repetitions (default 20)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="run each side of each workload N times in fresh processes; report the median",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp folders")
    args = parser.parse_args(argv)

    names = [n for item in args.only or [] for n in item.split(",") if n] or list(WORKLOADS)
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload {unknown[0]!r}; choose from {', '.join(WORKLOADS)}")
    size = 1 if args.quick else 0
    have_peer = not args.no_peer and peer_python("mlflow").exists()
    if not args.no_peer and not have_peer:
        print(
            "MLflow's venv is missing: run `.venv/bin/python benchmarks/setup_peers.py` "
            "(or pass --no-peer)",
            file=sys.stderr,
        )
        return 2

    load_before = warn_if_busy()
    rows: list[Row] = []
    versions: dict[str, str] = {"loopml": package_version("loopml")}
    if have_peer:
        versions["mlflow"] = installed_version("mlflow") or "?"
    for name in names:
        w = WORKLOADS[name]
        row = Row(w.name, w.unit, w.higher_is_better, target=w.target, description=w.description)
        sides = (("mlflow", w.mlflow_n[size]),) if have_peer else ()
        for side, n in (*sides, ("loopml", w.loopml_n[size])):
            print(f"[bench] {name}: {side} (n={n:,}) ...", file=sys.stderr, flush=True)
            try:
                trials = [measure(side, w, n, args.reps, args.keep) for _ in range(args.repeat)]
            except WorkerError as exc:
                setattr(row, "peer_error" if side == "mlflow" else "loopml_error", str(exc))
                continue
            # the median trial (by value) stands for the side; every trial's value is kept
            trials.sort(key=lambda t: t[0])
            value, detail = trials[(len(trials) - 1) // 2]
            if args.repeat > 1:
                detail = {**detail, "trial_values": [t[0] for t in trials]}
            if side == "mlflow":
                row.peer, row.peer_detail = value, detail
            else:
                row.loopml, row.loopml_detail = value, detail
        rows.append(row)

    mlflow_label = f"MLflow {versions['mlflow']}" if "mlflow" in versions else "MLflow"
    render_table(rows, mlflow_label, "Tracking on SQLite: MLflow vs loopml")
    if args.json:
        write_json(
            args.json,
            rows,
            {
                "quick": args.quick,
                "repeat": args.repeat,
                "load_avg_1m_before": round(load_before, 2),
                "mlflow_version": versions.get("mlflow"),
                "loopml_version": versions.get("loopml"),
            },
        )
        print(f"[bench] wrote {args.json}", file=sys.stderr)
    return 1 if any(r.peer_error or r.loopml_error for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
