"""MLflow's side of benchmarks/bench_models.py; runs inside .bench/mlflow with its own python.

    .bench/mlflow/bin/python benchmarks/peers/mlflow_models.py save --kind sklearn --out r.json
    .bench/mlflow/bin/python benchmarks/peers/mlflow_models.py load --uri URI --out r.json

Run from one folder per model kind: the store is ``sqlite:///<cwd>/mlflow.db``. ``save`` trains
the model on the same data as the loopml worker and times ``mlflow.<flavor>.log_model``;
``load`` (a fresh process each time) times import, ``mlflow.pyfunc.load_model`` and the first
predict. Standard library + MLflow's own dependencies only.
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
from pathlib import Path  # noqa: E402

ROWS, FEATURES, BATCH = 2000, 10, 100


def data():  # identical in bench_models.py
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(42)
    x = rng.normal(size=(ROWS, FEATURES))
    y = (x[:, 0] + 0.5 * x[:, 1] - x[:, 2] + rng.normal(scale=0.5, size=ROWS) > 0).astype(int)
    return pd.DataFrame(x, columns=[f"f{i}" for i in range(FEATURES)]), y


def train(kind: str):  # identical in bench_models.py
    frame, y = data()
    if kind == "sklearn":
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(n_estimators=100, max_depth=8, random_state=0, n_jobs=1).fit(
            frame, y
        ), frame
    import xgboost

    return xgboost.XGBClassifier(n_estimators=100, max_depth=4, n_jobs=1).fit(frame, y), frame


def save(kind: str) -> dict:
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{Path.cwd() / 'mlflow.db'}")
    mlflow.set_experiment("bench")
    model, frame = train(kind)
    # loopml pickles sklearn models (cloudpickle); MLflow 3's default, skops, refuses trees
    # unless told to trust them. Compare like with like: cloudpickle on both sides.
    extra = {"serialization_format": "cloudpickle"} if kind == "sklearn" else {}
    flavor = mlflow.sklearn if kind == "sklearn" else mlflow.xgboost
    with mlflow.start_run():
        start = time.perf_counter()
        info = flavor.log_model(model, name="model", input_example=frame[:5], **extra)
        seconds = time.perf_counter() - start
    return {
        "uri": info.model_uri,
        "save_seconds": seconds,
        "expected": [int(v) for v in model.predict(frame[:BATCH])],
    }


def load(uri: str) -> dict:
    t_import = time.perf_counter()
    import mlflow.pyfunc

    mlflow.set_tracking_uri(f"sqlite:///{Path.cwd() / 'mlflow.db'}")
    t_load = time.perf_counter()
    model = mlflow.pyfunc.load_model(uri)
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["save", "load"])
    parser.add_argument("--kind", choices=["sklearn", "xgboost"], default="sklearn")
    parser.add_argument("--uri")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    result = save(args.kind) if args.action == "save" else load(args.uri)
    Path(args.out).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
