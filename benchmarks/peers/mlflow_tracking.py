"""MLflow's side of benchmarks/bench_tracking.py; runs inside .bench/mlflow with its own python.

    .bench/mlflow/bin/python benchmarks/peers/mlflow_tracking.py WORKLOAD --n N --out result.json

Run from an empty folder: the store is ``sqlite:///<cwd>/mlflow.db`` and artifacts go under it.
Standard library + MLflow only (this file is never imported into loopml's venv). Each workload
times only the logging (store creation and migrations happen before the clock starts), then
reads the values back from the store and exits non-zero if anything is missing.
The work and the data mirror ``loopml_worker`` in bench_tracking.py exactly.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import time
from pathlib import Path

FILTER = "metrics.m0 < 0.5 and params.p0 = 'x'"
ORDER_BY = ["metrics.m1 ASC"]


def fail(message: str) -> None:
    sys.exit(f"verification failed: {message}")


def run_data(n: int, seed: int = 7) -> list[tuple[dict[str, str], dict[str, float]]]:
    """The params and metrics of ``n`` runs (identical in the loopml worker)."""
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


def db_count(db: Path, sql: str, *args: object) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(sql, args).fetchone()[0])


def setup(cwd: Path):
    import mlflow

    db = cwd / "mlflow.db"
    mlflow.set_tracking_uri(f"sqlite:///{db}")
    exp = mlflow.set_experiment("bench")  # creates the database and runs the migrations
    return mlflow, db, exp.experiment_id


def w_log_metric(n: int, cwd: Path) -> dict[str, object]:
    mlflow, db, _ = setup(cwd)
    values = [1.0 / (1 + i) for i in range(n)]
    run = mlflow.start_run()
    run_id = run.info.run_id
    start = time.perf_counter()
    for i in range(n):
        mlflow.log_metric("loss", values[i], step=i)
    seconds = time.perf_counter() - start
    mlflow.end_run()
    history = mlflow.MlflowClient().get_metric_history(run_id, "loss")
    rows = db_count(db, "SELECT COUNT(*) FROM metrics WHERE run_uuid = ? AND key = 'loss'", run_id)
    if len(history) != n or rows != n:
        fail(f"{n} values logged, history has {len(history)}, table has {rows}")
    by_step = {m.step: m.value for m in history}
    if by_step.get(n - 1) != values[-1] or sorted(by_step) != list(range(n)):
        fail("history does not hold the logged steps and values")
    return {"n": n, "seconds": seconds, "verified_rows": rows}


def w_log_batch(n: int, cwd: Path, batch: int) -> dict[str, object]:
    mlflow, db, _ = setup(cwd)
    from mlflow.entities import Metric

    client = mlflow.MlflowClient()
    values = [1.0 / (1 + i) for i in range(n)]
    run = mlflow.start_run()
    run_id = run.info.run_id
    start = time.perf_counter()
    for lo in range(0, n, batch):
        ts = int(time.time() * 1000)
        metrics = [Metric("loss", values[i], ts, i) for i in range(lo, min(lo + batch, n))]
        client.log_batch(run_id, metrics=metrics)
    seconds = time.perf_counter() - start
    mlflow.end_run()
    history = client.get_metric_history(run_id, "loss")
    rows = db_count(db, "SELECT COUNT(*) FROM metrics WHERE run_uuid = ? AND key = 'loss'", run_id)
    if len(history) != n or rows != n:
        fail(f"{n} values logged, history has {len(history)}, table has {rows}")
    if {m.step for m in history} != set(range(n)):
        fail("history does not hold every logged step")
    return {"n": n, "seconds": seconds, "verified_rows": rows, "batch": batch}


def log_runs(mlflow, data: list[tuple[dict[str, str], dict[str, float]]]) -> str:
    """The timed work: one fluent run per item; returns the last run's id."""
    run_id = ""
    for params, metrics in data:
        with mlflow.start_run() as run:
            mlflow.log_params(params)
            for key, value in metrics.items():
                mlflow.log_metric(key, value)
        run_id = run.info.run_id
    return run_id


def seed_runs(client, exp_id: str, data: list) -> str:
    """The runs of ``log_runs``, written faster (3 transactions a run) for the search workload.

    The runs get the tags the fluent ``start_run`` would give them (user, source, git).
    """
    from mlflow.entities import Metric, Param, RunStatus
    from mlflow.tracking.context.registry import resolve_tags

    tags = resolve_tags()
    for params, metrics in data:
        run = client.create_run(exp_id, tags=tags)
        ts = int(time.time() * 1000)
        client.log_batch(
            run.info.run_id,
            metrics=[Metric(k, v, ts, 0) for k, v in metrics.items()],
            params=[Param(k, v) for k, v in params.items()],
        )
        client.set_terminated(run.info.run_id, RunStatus.to_string(RunStatus.FINISHED))
    return str(run.info.run_id)


def verify_runs(client, db: Path, exp_id: str, data: list, last_run_id: str) -> dict[str, int]:
    n = len(data)
    runs = db_count(
        db,
        "SELECT COUNT(*) FROM runs WHERE experiment_id = ? AND status = 'FINISHED'",
        int(exp_id),
    )
    params = db_count(
        db,
        "SELECT COUNT(*) FROM params p JOIN runs r ON r.run_uuid = p.run_uuid "
        "WHERE r.experiment_id = ?",
        int(exp_id),
    )
    metrics = db_count(
        db,
        "SELECT COUNT(*) FROM metrics m JOIN runs r ON r.run_uuid = m.run_uuid "
        "WHERE r.experiment_id = ?",
        int(exp_id),
    )
    if (runs, params, metrics) != (n, 5 * n, 5 * n):
        fail(
            f"expected {n} finished runs, {5 * n} params and metrics; got {runs}, {params}, {metrics}"
        )
    last = client.get_run(last_run_id)
    if last.data.params != data[-1][0] or last.data.metrics != data[-1][1]:
        fail("the last run does not hold the params and metrics logged")
    return {"runs": runs, "params": params, "metrics": metrics}


def w_runs(n: int, cwd: Path) -> dict[str, object]:
    mlflow, db, exp_id = setup(cwd)
    data = run_data(n)
    start = time.perf_counter()
    last_run_id = log_runs(mlflow, data)
    seconds = time.perf_counter() - start
    verified = verify_runs(mlflow.MlflowClient(), db, exp_id, data, last_run_id)
    return {"n": n, "seconds": seconds, "verified": verified}


def w_search(n: int, cwd: Path, reps: int) -> dict[str, object]:
    mlflow, db, exp_id = setup(cwd)
    data = run_data(n)
    client = mlflow.MlflowClient()
    verify_runs(client, db, exp_id, data, seed_runs(client, exp_id, data))
    expected = sorted((m["m1"], p["p4"]) for p, m in data if m["m0"] < 0.5 and p["p0"] == "x")

    def search():
        return client.search_runs(
            [exp_id], filter_string=FILTER, order_by=ORDER_BY, max_results=1000
        )

    search()  # warm-up, as in the loopml worker
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        result = search()
        samples.append(time.perf_counter() - start)
    got = [(r.data.metrics["m1"], r.data.params["p4"]) for r in result]
    if got != expected:
        fail(f"search returned {len(got)} runs, expected {len(expected)} (in m1 order)")
    return {
        "n": n,
        "reps": reps,
        "median_s": statistics.median(samples),
        "samples_s": samples,
        "matches": len(got),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("workload", choices=["log_metric", "log_batch", "runs", "search"])
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    cwd = Path.cwd()
    if args.workload == "log_metric":
        result = w_log_metric(args.n, cwd)
    elif args.workload == "log_batch":
        result = w_log_batch(args.n, cwd, args.batch)
    elif args.workload == "runs":
        result = w_runs(args.n, cwd)
    else:
        result = w_search(args.n, cwd, args.reps)
    import mlflow

    result["version"] = mlflow.__version__
    Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
