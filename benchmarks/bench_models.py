"""Model packages: save, load and first predict with loopml and with MLflow, in one run.

    .venv/bin/python benchmarks/setup_peers.py      # once: MLflow in .bench/mlflow
    .venv/bin/python benchmarks/bench_models.py     # both models, 5 fresh loads each
    .venv/bin/python benchmarks/bench_models.py --quick --json out.json

The same scikit-learn random forest and XGBoost classifier (same data, same seeds, same library
versions) are trained on each side, then logged to a run (``mlflow.sklearn`` / ``mlflow.xgboost``
``.log_model`` vs ``loopml.log_model``), then loaded by URI and asked for a first prediction in a
fresh process, several times, the two sides interleaved so that a busy moment slows both
(``mlflow.pyfunc.load_model`` vs ``loopml.load_model``). The load
figure is the whole process: interpreter start, imports, load, first predict of 100 rows. Each
loopml load starts with an empty package cache, as MLflow downloads its artifacts every time.
Predictions are compared with the trained model's, and across the two sides.
``python bench_models.py --worker save|load ...`` is the loopml side.
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from importlib.metadata import version as package_version  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROWS, FEATURES, BATCH = 2000, 10, 100
MLFLOW_SCRIPT = Path(__file__).resolve().parent / "peers" / "mlflow_models.py"


# -- the work (identical in peers/mlflow_models.py) ---------------------------------------------
def data() -> tuple[Any, Any]:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(42)
    x = rng.normal(size=(ROWS, FEATURES))
    y = (x[:, 0] + 0.5 * x[:, 1] - x[:, 2] + rng.normal(scale=0.5, size=ROWS) > 0).astype(int)
    return pd.DataFrame(x, columns=[f"f{i}" for i in range(FEATURES)]), y


def train(kind: str) -> tuple[Any, Any]:
    frame, y = data()
    if kind == "sklearn":
        from sklearn.ensemble import RandomForestClassifier

        model = RandomForestClassifier(n_estimators=100, max_depth=8, random_state=0, n_jobs=1)
        return model.fit(frame, y), frame
    import xgboost

    return xgboost.XGBClassifier(n_estimators=100, max_depth=4, n_jobs=1).fit(frame, y), frame


# -- loopml workers -------------------------------------------------------------------------
def worker_save(kind: str) -> dict[str, Any]:
    import loopml

    loopml.configure(Path.cwd())
    model, frame = train(kind)
    with loopml.start_run():
        start = time.perf_counter()
        info = loopml.log_model(model, "model", input_example=frame[:5])
        seconds = time.perf_counter() - start
    return {
        "uri": info.uri,
        "save_seconds": seconds,
        "expected": [int(v) for v in model.predict(frame[:BATCH])],
    }


def worker_load(uri: str) -> dict[str, Any]:
    t_import = time.perf_counter()
    import loopml

    t_load = time.perf_counter()
    model = loopml.load_model(uri)
    t_predict = time.perf_counter()
    frame, _ = data()
    predictions = model.predict(frame[:BATCH])
    t_end = time.perf_counter()
    return {
        "seconds": t_end - _T0,
        "import_seconds": t_load - t_import,
        "load_seconds": t_predict - t_load,
        "predict_seconds": t_end - t_predict,
        "predictions": [int(v) for v in predictions],
    }


# -- orchestration --------------------------------------------------------------------------
def ensure_peer_xgboost(python: Path) -> None:
    """MLflow's venv gets the same xgboost as ours, so both sides train the same model."""
    wanted = package_version("xgboost")
    probe = "import xgboost; print(xgboost.__version__)"
    proc = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=False)
    if proc.stdout.strip() != wanted:
        print(f"[bench] installing xgboost=={wanted} into MLflow's venv", file=sys.stderr)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", f"xgboost=={wanted}"], check=True
        )


class Side:
    """One tool's worker for one model kind, in its own project folder."""

    def __init__(self, name: str, python: Path, script: Path, cwd: Path) -> None:
        self.name, self.python, self.script, self.cwd = name, python, script, cwd
        self.prefix = ["--worker"] if name == "loopml" else []
        self.loads: list[dict[str, Any]] = []
        self.saved: dict[str, Any] = {}

    def save(self, kind: str) -> None:
        from _common import run_worker

        args = [*self.prefix, "save", "--kind", kind]
        self.saved = run_worker(self.python, self.script, args, cwd=self.cwd)

    def load(self, kind: str) -> None:
        from _common import run_worker

        if self.name == "loopml":  # a cold load, as MLflow downloads its artifacts every time
            shutil.rmtree(self.cwd / ".loopml" / "cache", ignore_errors=True)
        args = [*self.prefix, "load", "--uri", self.saved["uri"]]
        start = time.perf_counter()
        result = run_worker(self.python, self.script, args, cwd=self.cwd)
        result["process_seconds"] = time.perf_counter() - start
        if result["predictions"] != self.saved["expected"]:
            raise SystemExit(f"{self.name} {kind}: loaded predictions differ from the model's")
        self.loads.append(result)

    def median(self) -> dict[str, float]:
        keys = ("process_seconds", "seconds", "import_seconds", "load_seconds", "predict_seconds")
        return {key: statistics.median(r[key] for r in self.loads) for key in keys}


def orchestrate(args: argparse.Namespace) -> None:
    from _common import Row, fresh_dir, peer_python, render_table, warn_if_busy, write_json

    warn_if_busy()
    mlflow_python = peer_python("mlflow")
    if not mlflow_python.exists():
        raise SystemExit("MLflow's venv is missing: run .venv/bin/python benchmarks/setup_peers.py")
    ensure_peer_xgboost(mlflow_python)
    loads = 3 if args.quick else 5
    rows: list[Row] = []
    for kind in ("sklearn", "xgboost"):
        with fresh_dir("models-mlflow") as mlflow_dir, fresh_dir("models-loopml") as loopml_dir:
            peer = Side("mlflow", mlflow_python, MLFLOW_SCRIPT, mlflow_dir)
            ours = Side("loopml", Path(sys.executable), Path(__file__).resolve(), loopml_dir)
            peer.save(kind)
            ours.save(kind)
            if peer.saved["expected"] != ours.saved["expected"]:
                raise SystemExit(f"{kind}: the two sides trained different models")
            for _ in range(loads):  # interleaved, so a busy moment slows both sides alike
                peer.load(kind)
                ours.load(kind)
        rows.append(
            Row(
                f"{kind}: log_model (ms)",
                "ms",
                False,
                peer.saved["save_seconds"] * 1000,
                ours.saved["save_seconds"] * 1000,
                description="save the package and store it in a run",
            )
        )
        peer_load, our_load = peer.median(), ours.median()
        rows.append(
            Row(
                f"{kind}: fresh process, load + first predict (ms)",
                "ms",
                False,
                peer_load["process_seconds"] * 1000,
                our_load["process_seconds"] * 1000,
                target=peer_load["process_seconds"] * 1000 / 3,
                description="interpreter, imports, load by URI, predict 100 rows",
                peer_detail=peer_load,
                loopml_detail=our_load,
            )
        )
    render_table(rows, f"MLflow {mlflow_version()}", "Model packages")
    for row in rows:
        if row.loopml_detail:
            mine, theirs = row.loopml_detail, row.peer_detail
            print(
                f"  {row.workload}: loopml import {mine['import_seconds'] * 1000:.0f} ms, "
                f"load {mine['load_seconds'] * 1000:.0f} ms, predict "
                f"{mine['predict_seconds'] * 1000:.0f} ms | MLflow import "
                f"{theirs['import_seconds'] * 1000:.0f} ms, load "
                f"{theirs['load_seconds'] * 1000:.0f} ms, predict "
                f"{theirs['predict_seconds'] * 1000:.0f} ms"
            )
    if args.json:
        write_json(args.json, rows, {"benchmark": "models", "loads": loads})


def mlflow_version() -> str:
    from setup_peers import installed_version

    return installed_version("mlflow") or "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("action", nargs="?", choices=["save", "load"])
    parser.add_argument("--kind", choices=["sklearn", "xgboost"], default="sklearn")
    parser.add_argument("--uri")
    parser.add_argument("--out")
    parser.add_argument("--quick", action="store_true", help="3 fresh loads per side, not 5")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    if args.worker:
        result = worker_save(args.kind) if args.action == "save" else worker_load(args.uri)
        Path(args.out).write_text(json.dumps(result))
        return
    orchestrate(args)


if __name__ == "__main__":
    main()
