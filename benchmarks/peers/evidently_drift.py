"""Evidently's side of bench_drift: DataDriftPreset on two Parquet files (its own venv).

    .bench/evidently/bin/python benchmarks/peers/evidently_drift.py \
        --ref ref.parquet --cur cur.parquet --categorical cat_0,cat_1 --out result.json

Reads both files with pandas, declares the column types (so Evidently does not guess), runs
``Report([DataDriftPreset()])`` and writes the wall and CPU seconds of the read and of the drift
report, the peak RSS and the columns Evidently flagged, with the test and value per column.
Standard library + pandas + Evidently only: this runs in Evidently's venv, never in loopml's.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from typing import Any


def _per_column(snapshot: Any) -> dict[str, dict[str, Any]]:
    """Column -> {test, value, threshold, drifted} from the snapshot's ValueDrift metrics."""
    out: dict[str, dict[str, Any]] = {}
    data = snapshot.dict()
    for metric in data.get("metrics", []):
        config = metric.get("config", {})
        if config.get("type", "").split(":")[-1] != "ValueDrift":
            continue
        column = config.get("column")
        value = metric.get("value")
        method = config.get("method")
        threshold = config.get("threshold")
        # Evidently's rule: p-value tests ("K-S p_value", ...) drift below the threshold
        # (K-S at or below), distances at or above it.
        if "p_value" in str(method):
            drifted = value <= threshold if str(method).startswith("K-S") else value < threshold
        else:
            drifted = value >= threshold
        out[column] = {
            "test": method,
            "value": value,
            "threshold": threshold,
            "drifted": bool(drifted),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ref", required=True)
    parser.add_argument("--cur", required=True)
    parser.add_argument("--categorical", default="")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    t0 = time.perf_counter()
    import evidently
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    t1, c1 = time.perf_counter(), time.process_time()
    ref = pd.read_parquet(args.ref)
    cur = pd.read_parquet(args.cur)
    t2, c2 = time.perf_counter(), time.process_time()
    categorical = [c for c in args.categorical.split(",") if c]
    numerical = [c for c in ref.columns if c not in categorical]
    definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
    ref_ds = Dataset.from_pandas(ref, data_definition=definition)
    cur_ds = Dataset.from_pandas(cur, data_definition=definition)
    snapshot = Report([DataDriftPreset()]).run(current_data=cur_ds, reference_data=ref_ds)
    t3, c3 = time.perf_counter(), time.process_time()
    columns = _per_column(snapshot)
    result = {
        "version": evidently.__version__,
        "import_s": t1 - t0,
        "read_s": t2 - t1,
        "drift_s": t3 - t2,
        "drift_cpu_s": c3 - c2,
        "total_s": t3 - t1,
        "total_cpu_s": c3 - c1,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "drifted": sorted(c for c, v in columns.items() if v["drifted"]),
        "columns": columns,
    }
    with open(args.out, "w") as fh:
        json.dump(result, fh, indent=2)


if __name__ == "__main__":
    main()
