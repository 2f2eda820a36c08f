"""MLflow's side of bench_server.py: client workloads against a running ``mlflow server``.

Run with .bench/mlflow/bin/python: ``mlflow_server.py URL WORKLOAD N --out result.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("workload", choices=["log_metric", "log_batch", "runs"])
    ap.add_argument("n", type=int)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=args.url)
    exp = client.create_experiment(f"bench-{time.time_ns()}")
    start = time.perf_counter()
    if args.workload == "log_metric":
        run = client.create_run(exp).info.run_id
        start = time.perf_counter()
        for i in range(args.n):
            client.log_metric(run, "m", float(i), step=i)
        stored = len(client.get_metric_history(run, "m"))
    elif args.workload == "log_batch":
        run = client.create_run(exp).info.run_id
        start = time.perf_counter()
        ts = int(time.time() * 1000)
        for lo in range(0, args.n, 1000):  # MLflow's limit per log_batch
            metrics = [Metric("m", float(i), ts, i) for i in range(lo, min(args.n, lo + 1000))]
            client.log_batch(run, metrics=metrics)
        stored = len(client.get_metric_history(run, "m"))
    else:
        for _ in range(args.n):
            run = client.create_run(exp).info.run_id
            for p in range(5):
                client.log_param(run, f"p{p}", str(p))
            for m in range(5):
                client.log_metric(run, f"m{m}", float(m))
            client.set_terminated(run)
        stored = len(client.search_runs([exp], max_results=args.n + 10))
    seconds = time.perf_counter() - start
    Path(args.out).write_text(json.dumps({"seconds": seconds, "stored": stored, "n": args.n}))


if __name__ == "__main__":
    main()
