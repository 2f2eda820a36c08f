"""Drift: loopml against Evidently's DataDriftPreset on the same frames, in one run.

    .venv/bin/python benchmarks/setup_peers.py evidently   # once: Evidently in .bench/evidently
    .venv/bin/python benchmarks/bench_drift.py             # 100k and 1M rows (a few minutes)
    .venv/bin/python benchmarks/bench_drift.py --quick     # 100k rows only
    .venv/bin/python benchmarks/bench_drift.py --sizes 50000 --json out.json

The frames have 20 numeric and 5 categorical columns, 5 of them shifted (4 numeric, 1
categorical), from a fixed seed; they are written to Parquet once in a temp folder and both
sides read them from there. Each side runs in its own subprocess (loopml with this python,
Evidently with .bench/evidently/bin/python running benchmarks/peers/evidently_drift.py) and
reports the wall and CPU time of read + drift, its peak RSS and the columns it flagged.
``python bench_drift.py --worker --ref R --cur C --out O`` is the loopml side.
"""

from __future__ import annotations

import argparse
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
SEED = 20_251_123
NUMERIC, CATEGORICAL = 20, 5
SHIFTED = ["num_00", "num_05", "num_10", "num_15", "cat_0"]
TARGET_SECONDS_1M = 2.0
TARGET_RATIO = 10.0


# -- data ---------------------------------------------------------------------------------------
def make_frames(rows: int, folder: Path) -> tuple[Path, Path]:
    """Reference and current Parquet files; the current has SHIFTED columns moved."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(SEED)

    def numeric(i: int, shifted: bool) -> Any:
        kind = i % 4
        if kind == 0:  # normal; shift: mean +0.3 sd
            return rng.normal(10 + i, 2.0, rows) + (0.6 if shifted else 0.0)
        if kind == 1:  # log-normal; shift: heavier tail
            return rng.lognormal(1.0, 0.5 * (1.4 if shifted else 1.0), rows)
        if kind == 2:  # uniform; shift: range moves
            lo = 2.0 if shifted else 0.0
            return rng.uniform(lo, lo + 10.0, rows)
        return rng.exponential(3.0 * (1.5 if shifted else 1.0), rows)  # exponential; scale

    def categorical(i: int, shifted: bool) -> Any:
        k = (4, 8, 12, 30, 50)[i]
        labels = np.array([f"c{i}_{j:02d}" for j in range(k)])
        p = np.linspace(1.0, 2.0, k)
        if shifted:
            p[0] *= 3.0  # the first category triples in weight
        return pa.array(labels[rng.choice(k, rows, p=p / p.sum())])

    paths = []
    for side in ("ref", "cur"):
        moved = side == "cur"
        columns: dict[str, Any] = {}
        for i in range(NUMERIC):
            name = f"num_{i:02d}"
            columns[name] = numeric(i, moved and name in SHIFTED)
        for i in range(CATEGORICAL):
            name = f"cat_{i}"
            columns[name] = categorical(i, moved and name in SHIFTED)
        path = folder / f"{side}.parquet"
        pq.write_table(pa.table(columns), path)
        paths.append(path)
    return paths[0], paths[1]


def categorical_names() -> list[str]:
    return [f"cat_{i}" for i in range(CATEGORICAL)]


# -- the loopml side ----------------------------------------------------------------------------
def worker(ref: str, cur: str, out: str) -> None:
    t0 = time.perf_counter()
    # The libraries load before the clock starts, as on Evidently's side (pandas, Evidently):
    # pyarrow imports pandas on first conversion, which would otherwise land inside drift().
    import pandas  # noqa: F401
    import pyarrow.compute
    import pyarrow.parquet  # noqa: F401

    from loopml.data import drift

    t1, c1 = time.perf_counter(), time.process_time()
    report = drift(ref, cur)
    t2, c2 = time.perf_counter(), time.process_time()
    result = {
        "import_s": t1 - t0,
        "total_s": t2 - t1,
        "total_cpu_s": c2 - c1,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "drifted": sorted(report.drifted_columns),
        "columns": {
            name: {"test": c.test, "value": c.value, "threshold": c.threshold, "drifted": c.drifted}
            for name, c in report.columns.items()
        },
    }
    Path(out).write_text(json.dumps(result, indent=2))


# -- orchestration ------------------------------------------------------------------------------
def run_size(rows: int, *, keep: bool, skip_peer: bool, repeat: int) -> tuple[Row, dict[str, Any]]:
    """One size: frames written once; loopml run ``repeat`` times (median), Evidently once."""
    row = Row(
        workload=f"drift {rows:,} rows x {NUMERIC + CATEGORICAL} cols (read + tests)",
        unit="s",
        higher_is_better=False,
        target=TARGET_SECONDS_1M if rows >= 1_000_000 else None,
        description="DataDriftPreset vs loopml.data.drift on the same two Parquet files",
    )
    detail: dict[str, Any] = {"rows": rows}
    with fresh_dir(f"drift-{rows}", keep=keep) as folder:
        print(f"[bench] writing {rows:,}-row frames ...", file=sys.stderr)
        ref, cur = make_frames(rows, folder)
        args = ["--ref", str(ref), "--cur", str(cur)]
        print(f"[bench] loopml x{repeat} ...", file=sys.stderr)
        try:
            runs = [
                run_worker(sys.executable, Path(__file__), ["--worker", *args], cwd=folder)
                for _ in range(repeat)
            ]
            ours = sorted(runs, key=lambda r: r["total_s"])[len(runs) // 2]  # the median run
            ours["all_total_s"] = [r["total_s"] for r in runs]
            row.loopml, row.loopml_detail = ours["total_s"], ours
        except WorkerError as exc:
            row.loopml_error = str(exc)
        if not skip_peer:
            print("[bench] evidently ...", file=sys.stderr)
            try:
                theirs = run_worker(
                    peer_python("evidently"),
                    EVIDENTLY_SCRIPT,
                    [*args, "--categorical", ",".join(categorical_names())],
                    cwd=folder,
                    timeout=1800,
                )
                row.peer, row.peer_detail = theirs["total_s"], theirs
            except WorkerError as exc:
                row.peer_error = str(exc)
    ours_flagged = row.loopml_detail.get("drifted")
    theirs_flagged = row.peer_detail.get("drifted")
    detail["same_columns_flagged"] = (
        ours_flagged == theirs_flagged if ours_flagged and theirs_flagged else None
    )
    detail["expected"] = sorted(SHIFTED)
    return row, detail


def _print_details(rows: list[Row], details: list[dict[str, Any]]) -> None:
    for row, detail in zip(rows, details, strict=True):
        print(f"\n{row.workload}")
        for side, data in (("evidently", row.peer_detail), ("loopml", row.loopml_detail)):
            if not data:
                continue
            print(
                f"  {side:9s} total {data['total_s']:7.2f} s  cpu {data['total_cpu_s']:7.2f} s  "
                f"peak RSS {data['peak_rss_mb']:7.0f} MiB  flagged {', '.join(data['drifted'])}"
            )
        runs = row.loopml_detail.get("all_total_s")
        if runs and len(runs) > 1:
            print(f"  loopml runs: {', '.join(f'{s:.2f} s' for s in runs)} (median shown)")
        if row.ratio:
            cpu = row.peer_detail["total_cpu_s"] / max(row.loopml_detail["total_cpu_s"], 1e-9)
            print(
                f"  ratio     {row.ratio:.1f}x wall, {cpu:.1f}x CPU (target >= {TARGET_RATIO:g}x)"
            )
        same = detail["same_columns_flagged"]
        if same is not None:
            print(
                f"  same columns flagged: {'yes' if same else 'NO'} (shifted: {', '.join(detail['expected'])})"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="100k rows only")
    parser.add_argument("--sizes", help="comma-separated row counts (default 100000,1000000)")
    parser.add_argument("--no-peer", action="store_true", help="run loopml only")
    parser.add_argument(
        "--repeat", type=int, default=3, help="loopml runs per size (the median is reported)"
    )
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the temp folders")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--ref", help=argparse.SUPPRESS)
    parser.add_argument("--cur", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.ref, args.cur, args.out)
        return 0
    if args.sizes:
        sizes = [int(s) for s in args.sizes.split(",")]
    else:
        sizes = [100_000] if args.quick else [100_000, 1_000_000]
    skip_peer = args.no_peer
    version = None if skip_peer else installed_version("evidently")
    if not skip_peer and version is None:
        print(
            "[bench] Evidently is not installed: run benchmarks/setup_peers.py evidently "
            "(or pass --no-peer)",
            file=sys.stderr,
        )
        return 2
    load = warn_if_busy()
    rows, details = [], []
    for size in sizes:
        row, detail = run_size(size, keep=args.keep, skip_peer=skip_peer, repeat=args.repeat)
        rows.append(row)
        details.append(detail)
    render_table(rows, f"evidently {version or '-'}", "loopml drift vs Evidently DataDriftPreset")
    _print_details(rows, details)
    if args.json:
        write_json(
            args.json,
            rows,
            {
                "benchmark": "drift",
                "evidently": version,
                "load_avg_start": load,
                "details": details,
            },
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
