"""The team server: ``mlflow server`` against ``loopml server`` on the same work, in one run.

    .venv/bin/python benchmarks/setup_peers.py      # once: MLflow in .bench/mlflow
    .venv/bin/python benchmarks/bench_server.py     # add --quick for a smaller run

Each server runs as its own subprocess on 127.0.0.1 with a SQLite store in a fresh folder.
Workloads: start time (until /health answers), idle memory (RSS of the server's whole process
tree), single ``log_metric`` calls through the client (loopml: the buffered SDK client;
verified on the server after the flush), ``log_batch``, and runs with 5 params + 5 metrics
(MLflow's 1,000-run time is extrapolated from fewer runs: it takes minutes).
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from _common import PEERS_DIR, clean_env, fresh_dir, peer_python, run_worker

ROOT = Path(__file__).resolve().parent.parent


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants, in MB (from /proc)."""
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{p}/task").iterdir():
                children = (task / "children").read_text().split()
                todo.extend(int(c) for c in children)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / 1024


def start(cmd: list[str], url: str, cwd: Path) -> tuple[subprocess.Popen[bytes], float]:
    began = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    with httpx.Client() as c:
        while True:
            try:
                if c.get(f"{url}/health").status_code == 200:
                    return proc, time.perf_counter() - began
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.perf_counter() - began > 120:
                raise RuntimeError(f"{cmd[:3]} did not start")
            time.sleep(0.02)


def loopml_workloads(url: str, n_single: int, n_batch: int, n_runs: int) -> dict[str, float]:
    import loopml
    from loopml.tracking import context

    with fresh_dir("server-client") as root:
        (root / "loopml.toml").write_text(f'[loopml]\ntracking_uri = "{url}"\n')
        loopml.configure(root)
        client = loopml.TrackingClient()
        exp = client.get_or_create_experiment("bench").experiment_id
        out: dict[str, float] = {}
        run = client.create_run(exp, capture_provenance=False).run_id
        began = time.perf_counter()
        for i in range(n_single):
            client.log_metric(run, "m", float(i), step=i)
        loopml.flush()
        out["log_metric"] = n_single / (time.perf_counter() - began)
        assert len(client.get_metric_history(run, "m")) == n_single
        run = client.create_run(exp, capture_provenance=False).run_id
        began = time.perf_counter()
        client.log_batch(run, "m", [float(i) for i in range(n_batch)])
        loopml.flush()
        out["log_batch"] = n_batch / (time.perf_counter() - began)
        assert len(client.get_metric_history(run, "m")) == n_batch
        began = time.perf_counter()
        for _ in range(n_runs):
            r = client.create_run(exp, capture_provenance=False).run_id
            client.log_params(r, {f"p{p}": p for p in range(5)})
            client.log_metrics(r, {f"m{m}": float(m) for m in range(5)})
            client.end_run(r)
        out["runs_1000_s"] = (time.perf_counter() - began) * 1000 / n_runs
        assert len(client.search_runs("bench", max_results=n_runs + 10)) == n_runs + 2
        context.get_context().close()
        return out


def mlflow_workloads(
    url: str, n_single: int, n_batch: int, n_runs: int, cwd: Path
) -> dict[str, float]:
    python, script = peer_python("mlflow"), PEERS_DIR / "mlflow_server.py"
    out: dict[str, float] = {}
    r = run_worker(python, script, [url, "log_metric", str(n_single)], cwd=cwd)
    assert r["stored"] == n_single
    out["log_metric"] = n_single / r["seconds"]
    r = run_worker(python, script, [url, "log_batch", str(n_batch)], cwd=cwd)
    assert r["stored"] == n_batch
    out["log_batch"] = n_batch / r["seconds"]
    r = run_worker(python, script, [url, "runs", str(n_runs)], cwd=cwd)
    assert r["stored"] == n_runs
    out["runs_1000_s"] = r["seconds"] * 1000 / n_runs
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer points and runs")
    args = ap.parse_args()
    quick = args.quick
    results: dict[str, dict[str, float]] = {}
    for side in ("mlflow", "loopml"):
        with fresh_dir(f"server-{side}") as cwd:
            port = _port()
            url = f"http://127.0.0.1:{port}"
            if side == "mlflow":
                cmd = [
                    str(peer_python("mlflow")),
                    "-m",
                    "mlflow",
                    "server",
                    "--backend-store-uri",
                    f"sqlite:///{cwd / 'mlflow.db'}",
                    "--default-artifact-root",
                    str(cwd / "artifacts"),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ]
            else:
                cmd = [
                    sys.executable,
                    "-m",
                    "loopml.cli.main",
                    "server",
                    "--db",
                    f"sqlite:///{cwd / 'loopml.db'}",
                    "--objects",
                    str(cwd / "objects"),
                    "--port",
                    str(port),
                ]
            proc, started = start(cmd, url, cwd)
            try:
                time.sleep(2)
                row = {"start_s": started, "idle_mb": _rss_mb(proc.pid)}
                print(
                    f"{side}: started in {started:.2f} s, idle {row['idle_mb']:.0f} MB", flush=True
                )
                if side == "mlflow":
                    n = (50, 5_000, 20) if quick else (200, 20_000, 50)
                    row.update(mlflow_workloads(url, *n, cwd=cwd))
                else:
                    n = (50_000, 100_000, 200) if quick else (500_000, 1_000_000, 1000)
                    row.update(loopml_workloads(url, *n))
                results[side] = row
                print(f"  {row}", flush=True)
            finally:
                proc.terminate()
                proc.wait(timeout=60)
    print()
    print(f"{'workload':<28}{'mlflow':>14}{'loopml':>14}{'ratio':>10}")
    rows = [
        ("log_metric (values/s)", "log_metric", True),
        ("log_batch (values/s)", "log_batch", True),
        ("1,000 runs (s)", "runs_1000_s", False),
        ("server start (s)", "start_s", False),
        ("idle memory (MB)", "idle_mb", False),
    ]
    for label, key, higher in rows:
        m, lo = results["mlflow"][key], results["loopml"][key]
        ratio = lo / m if higher else m / lo
        print(f"{label:<28}{m:>14,.1f}{lo:>14,.1f}{ratio:>9.1f}x")


if __name__ == "__main__":
    main()
