"""Monitoring: one window over 1,000,000 logged predictions (25 features) from Parquet payload
logs, against Evidently's DataDriftPreset on the same rows.

    .venv/bin/python benchmarks/setup_peers.py evidently     # once: Evidently in .bench/evidently
    .venv/bin/python benchmarks/bench_monitoring.py          # 1,000 requests x 1,000 rows
    .venv/bin/python benchmarks/bench_monitoring.py --requests 200 --rows-per-request 500 --no-peer

The payload log is what ``loopml serve`` writes: one Parquet object per flush in the
content-addressed object store plus an index row; here 1,000 MLflow ``dataframe_split`` requests
of 1,000 rows each (20 numeric features with 4 decimals, 5 text categories, compact JSON as
orjson, Jackson or JSON.stringify send it), in 10 objects of 100 requests, with the model's
predictions as outputs. The training reference is 200,000 rows (5 numeric and 1 categorical
feature shifted in the logged traffic).

Three subprocesses: ``--setup`` builds the project (dataset version, a scikit-learn pipeline
registered with it as input, a deployment, the payload objects) and writes the reference and
the decoded current rows as Parquet for Evidently; ``--measure`` opens the project, prepares the
reference once (sorted columns and reference predictions: the one-time cost a monitor keeps),
then times ``compute_windows`` over the whole log: read the Parquet objects, decode every body,
drift per feature against the reference, output drift, traffic metrics, store the window. The
Evidently side reads the already-decoded rows (no JSON decoding) and runs DataDriftPreset.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

from _common import (
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

EVIDENTLY_SCRIPT = PEERS_DIR / "evidently_drift.py"
SEED = 20_261_123
NUMERIC, CATEGORICAL = 20, 5
SHIFTED = ["cat_0", "num_00", "num_04", "num_08", "num_12", "num_16"]
REFERENCE_ROWS = 200_000
TARGET_SECONDS = 3.0
TARGET_RATIO = 10.0
HOUR = 3_600_000
T0 = 1_763_888_400_000  # an hour boundary


# -- data ---------------------------------------------------------------------------------------
def make_frame(rows: int, shifted: bool, seed: int) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {}
    for i in range(NUMERIC):
        name = f"num_{i:02d}"
        move = shifted and name in SHIFTED
        kind = i % 4
        if kind == 0:
            values = rng.normal(10 + i, 2.0, rows) + (0.6 if move else 0.0)
        elif kind == 1:
            values = rng.lognormal(1.0, 0.5 * (1.4 if move else 1.0), rows)
        elif kind == 2:
            lo = 2.0 if move else 0.0
            values = rng.uniform(lo, lo + 10.0, rows)
        else:
            values = rng.exponential(3.0 * (1.5 if move else 1.0), rows)
        columns[name] = np.round(values, 4)
    for i in range(CATEGORICAL):
        name = f"cat_{i}"
        k = (4, 8, 12, 30, 50)[i]
        labels = np.array([f"c{i}_{j:02d}" for j in range(k)], dtype=object)
        p = np.linspace(1.0, 2.0, k)
        if shifted and name in SHIFTED:
            p[0] *= 3.0
        columns[name] = labels[rng.choice(k, rows, p=p / p.sum())]
    frame = pd.DataFrame(columns)
    signal = frame["num_00"] - (10.0) + (frame["cat_0"] == "c0_00") * 1.5
    frame["target"] = (signal + rng.normal(0, 1.0, rows) > 0).astype(int)
    return frame


def features() -> list[str]:
    return [f"num_{i:02d}" for i in range(NUMERIC)] + [f"cat_{i}" for i in range(CATEGORICAL)]


def categorical_names() -> list[str]:
    return [f"cat_{i}" for i in range(CATEGORICAL)]


# -- setup (not timed) ---------------------------------------------------------------------------
def setup(folder: Path, requests: int, rows_per_request: int, out: str) -> None:
    import numpy as np
    import orjson
    import pyarrow as pa
    import pyarrow.parquet as pq
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    import loopml
    from loopml import data
    from loopml.monitoring import _stores
    from loopml.serving.deployments import create_deployment
    from loopml.store.metadata.deployments_base import PayloadFile

    started = time.perf_counter()
    root = folder / "project"
    root.mkdir()
    (root / "loopml.toml").write_text('[loopml]\n[monitor.bench]\nwindow = "1h"\n')
    loopml.configure(root)
    cols = features()
    train = make_frame(REFERENCE_ROWS, False, SEED)
    train.to_parquet(root / "train.parquet", index=False)
    train[cols].to_parquet(folder / "ref.parquet", index=False)
    version = data.add(root / "train.parquet", "customers")
    prep = ColumnTransformer(
        [
            ("num", StandardScaler(), cols[:NUMERIC]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), categorical_names()),
        ]
    )
    model = make_pipeline(prep, LogisticRegression(max_iter=200))
    model.fit(train[cols].head(50_000), train["target"].head(50_000))
    with loopml.start_run():
        data.log_input(version.uri, "training")
        loopml.log_metric("val_accuracy", float(model.score(train[cols], train["target"])))
        info = loopml.log_model(model, "model", input_example=train[cols].head(5))
    loopml.register_model(info.uri, "bench-model")
    create_deployment("bench", "models:/bench-model/1")
    current = make_frame(requests * rows_per_request, True, SEED + 1)
    current[cols].to_parquet(folder / "cur.parquet", index=False)
    predictions = model.predict(current[cols])
    store = _stores.deployment_store()
    objects = _stores.object_store()
    per_file = max(1, requests // 10)
    values = current[cols].to_numpy(dtype=object)
    for first in range(0, requests, per_file):
        batch = []
        for k in range(first, min(first + per_file, requests)):
            lo, hi = k * rows_per_request, (k + 1) * rows_per_request
            body = orjson.dumps(
                {"dataframe_split": {"columns": cols, "data": values[lo:hi].tolist()}}
            ).decode()
            output = orjson.dumps(
                {"predictions": predictions[lo:hi]}, option=orjson.OPT_SERIALIZE_NUMPY
            )
            batch.append((f"req-{k:07d}", T0 + k * 1000, body, output.decode()))
        n = len(batch)
        table = pa.table(
            {
                "request_id": [b[0] for b in batch],
                "deployment": ["bench"] * n,
                "route": ["main"] * n,
                "model_uri": ["models:/bench-model@champion"] * n,
                "model_version": ["1"] * n,
                "status": pa.array([200] * n, pa.int32()),
                "latency_ms": pa.array(np.random.default_rng(k).gamma(2.0, 4.0, n), pa.float64()),
                "ts_ms": pa.array([b[1] for b in batch], pa.int64()),
                "shadow": [False] * n,
                "protocol": ["mlflow"] * n,
                "content_type": ["application/json"] * n,
                "inputs": [b[2] for b in batch],
                "outputs": [b[3] for b in batch],
            }
        )
        sink = io.BytesIO()
        pq.write_table(table, sink)
        stored = objects.put_bytes(sink.getvalue())
        ts = [b[1] for b in batch]
        store.add_payload_file("bench", PayloadFile(stored.hash, n, min(ts), max(ts), max(ts)))
    size = sum(objects.size(f.object_hash) for f in store.list_payload_files("bench"))
    Path(out).write_text(
        json.dumps({"setup_s": time.perf_counter() - started, "payload_mb": size / 2**20})
    )


# -- the measured side --------------------------------------------------------------------------
def measure(folder: Path, out: str) -> None:
    import pandas  # noqa: F401  (loaded before the clock, as on Evidently's side)
    import pyarrow.csv
    import pyarrow.parquet  # noqa: F401

    import loopml
    from loopml.monitoring import compute_windows
    from loopml.monitoring.reference import reference_for

    loopml.configure(folder / "project")
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0, c0 = time.perf_counter(), time.process_time()
    ref = reference_for("models:/bench-model@champion", "1")
    assert not isinstance(ref, str), ref
    for name in ref.features:  # sort / count each reference column once (kept for every window)
        ref.samples.sample(name)
    t1, c1 = time.perf_counter(), time.process_time()
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    (window,) = compute_windows("bench", "1h", now_ms=T0 + 10 * 24 * HOUR)
    t2, c2 = time.perf_counter(), time.process_time()
    drift = window.metrics["input_drift"]
    result = {
        "reference_s": t1 - t0,
        "reference_cpu_s": c1 - c0,
        "total_s": t2 - t1,
        "total_cpu_s": c2 - c1,
        "rows": window.rows,
        "requests": window.requests,
        "rss_before_mb": rss0,
        "rss_after_reference_mb": rss1,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "drifted": sorted(drift["drifted"]),
        "output_drift": window.metrics.get("output_drift", {}).get("drifted"),
        "failed_requests": window.metrics["skew"]["failed_requests"],
        "columns": {
            name: {k: c[k] for k in ("test", "value", "threshold", "drifted")}
            for name, c in drift["columns"].items()
        },
    }
    Path(out).write_text(json.dumps(result, indent=2))


# -- orchestration ------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rows-per-request", type=int, default=1000)
    parser.add_argument("--no-peer", action="store_true", help="run loopml only")
    parser.add_argument("--repeat", type=int, default=1, help="measured loopml runs (median)")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    parser.add_argument("--setup", help=argparse.SUPPRESS)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.setup:
        setup(Path(args.setup), args.requests, args.rows_per_request, args.out)
        return 0
    if args.measure:
        measure(Path(args.measure), args.out)
        return 0
    version = None if args.no_peer else installed_version("evidently")
    if not args.no_peer and version is None:
        print(
            "[bench] Evidently is not installed: run benchmarks/setup_peers.py evidently "
            "(or pass --no-peer)",
            file=sys.stderr,
        )
        return 2
    load = warn_if_busy()
    total = args.requests * args.rows_per_request
    row = Row(
        workload=f"one window: {total:,} logged predictions x 25 features",
        unit="s",
        higher_is_better=False,
        target=TARGET_SECONDS if total >= 1_000_000 else None,
        description="compute_windows from Parquet payload logs vs DataDriftPreset on decoded rows",
    )
    setup_info: dict[str, Any] = {}
    with fresh_dir("monitoring", keep=args.keep) as folder:
        print(
            f"[bench] building the project and {args.requests:,} logged requests ...",
            file=sys.stderr,
        )
        sizes = ["--requests", str(args.requests), "--rows-per-request", str(args.rows_per_request)]
        setup_info = run_worker(
            sys.executable,
            Path(__file__),
            [*sizes, "--setup", str(folder)],
            cwd=folder,
            timeout=3600,
        )
        try:
            runs = []
            for n in range(args.repeat):
                print(f"[bench] loopml window {n + 1}/{args.repeat} ...", file=sys.stderr)
                runs.append(
                    run_worker(
                        sys.executable, Path(__file__), ["--measure", str(folder)], cwd=folder
                    )
                )
                _reset(folder)
            ours = sorted(runs, key=lambda r: r["total_s"])[len(runs) // 2]
            ours["all_total_s"] = [r["total_s"] for r in runs]
            row.loopml, row.loopml_detail = ours["total_s"], ours
        except WorkerError as exc:
            row.loopml_error = str(exc)
        if not args.no_peer:
            print("[bench] evidently ...", file=sys.stderr)
            try:
                theirs = run_worker(
                    peer_python("evidently"),
                    EVIDENTLY_SCRIPT,
                    [
                        "--ref",
                        str(folder / "ref.parquet"),
                        "--cur",
                        str(folder / "cur.parquet"),
                        "--categorical",
                        ",".join(categorical_names()),
                    ],
                    cwd=folder,
                    timeout=3600,
                )
                row.peer, row.peer_detail = theirs["total_s"], theirs
            except WorkerError as exc:
                row.peer_error = str(exc)
    render_table([row], f"evidently {version or '-'}", "loopml monitoring window vs Evidently")
    _print_details(row, setup_info)
    if args.json:
        write_json(
            args.json,
            [row],
            {
                "benchmark": "monitoring",
                "evidently": version,
                "load_avg_start": load,
                "setup": setup_info,
            },
        )
    return 0


def _reset(folder: Path) -> None:
    """Forget the stored window and cursor, so the next run computes the same window again."""
    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{folder / 'project' / '.loopml' / 'loopml.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM monitor_windows"))
        conn.execute(sa.text("DELETE FROM monitor_cursors"))
    engine.dispose()


def _print_details(row: Row, setup_info: dict[str, Any]) -> None:
    print(f"\n{row.workload}")
    if setup_info:
        print(
            f"  payload log: {setup_info['payload_mb']:.0f} MiB of Parquet (setup {setup_info['setup_s']:.0f} s)"
        )
    ours, theirs = row.loopml_detail, row.peer_detail
    if ours:
        print(
            f"  loopml    window {ours['total_s']:6.2f} s  cpu {ours['total_cpu_s']:6.2f} s  "
            f"peak RSS {ours['peak_rss_mb']:6.0f} MiB (after reference {ours['rss_after_reference_mb']:.0f})  "
            f"flagged {', '.join(ours['drifted'])}; output drift {ours['output_drift']}"
        )
        print(
            f"            reference prepared once: {ours['reference_s']:.2f} s "
            f"({REFERENCE_ROWS:,} rows: columns sorted, predictions cached)"
        )
        if ours.get("failed_requests"):
            print(f"            UNREADABLE requests: {ours['failed_requests']}")
        runs = ours.get("all_total_s")
        if runs and len(runs) > 1:
            print(f"  loopml runs: {', '.join(f'{s:.2f} s' for s in runs)} (median shown)")
    if theirs:
        print(
            f"  evidently total {theirs['total_s']:6.2f} s  cpu {theirs['total_cpu_s']:6.2f} s  "
            f"peak RSS {theirs['peak_rss_mb']:6.0f} MiB  flagged {', '.join(theirs['drifted'])}"
        )
    if row.ratio:
        cpu = theirs["total_cpu_s"] / max(ours["total_cpu_s"], 1e-9)
        print(f"  ratio     {row.ratio:.1f}x wall, {cpu:.1f}x CPU (target >= {TARGET_RATIO:g}x)")
    if ours and theirs:
        same = ours["drifted"] == theirs["drifted"]
        print(
            f"  same columns flagged: {'yes' if same else 'NO'} (shifted: {', '.join(sorted(SHIFTED))})"
        )


if __name__ == "__main__":
    raise SystemExit(main())
