"""A registered model with a training dataset, a deployment, and payload logs written in the
serving contract's format (Parquet objects in the object store plus their index rows)."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

import loopml

FEATURES = ["f0", "f1", "f2", "f3"]
HOUR = 3_600_000
T0 = 1_700_000_000_000 - (1_700_000_000_000 % HOUR)  # an hour boundary


@dataclass
class Served:
    root: Path
    deployment: str
    model: Any  # the fitted sklearn estimator
    train: Any  # pandas frame of the training data (features + target)


def make_data(n: int, shift: float = 0.0, seed: int = 0) -> Any:
    import pandas as pd

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(FEATURES)))
    x[:, 0] += shift
    x[:, 1] += shift
    frame = pd.DataFrame(x, columns=FEATURES)
    frame["plan"] = rng.choice(["basic", "pro"], size=n)
    y = (x[:, 0] + 0.5 * x[:, 2] + rng.normal(scale=0.5, size=n) > 0).astype(int)
    frame["target"] = y
    return frame


@pytest.fixture
def served(project: Path) -> Iterator[Served]:
    yield from serve_project(project)


def serve_project(project: Path) -> Iterator[Served]:
    """A registered classifier with its training dataset and a deployment ``churn-prod``."""
    from sklearn.linear_model import LogisticRegression

    from loopml import data
    from loopml.monitoring import reference
    from loopml.serving.deployments import create_deployment

    train = make_data(2000)
    path = project / "train.parquet"
    train[[*FEATURES, "target"]].to_parquet(path, index=False)
    dv = data.add(path, "customers")
    model = LogisticRegression().fit(train[FEATURES], train["target"])
    with loopml.start_run():
        data.log_input(dv.uri, "training")
        loopml.log_metric("val_accuracy", float(model.score(train[FEATURES], train["target"])))
        info = loopml.log_model(model, "model", input_example=train[FEATURES].head(5))
    loopml.register_model(info.uri, "churn")
    create_deployment("churn-prod", "models:/churn/1")
    reference.clear_cache()
    yield Served(project, "churn-prod", model, train)
    reference.clear_cache()


def split_body(frame: Any) -> bytes:
    """The model's features of ``frame`` as an MLflow ``dataframe_split`` body."""
    return orjson.dumps(
        {"dataframe_split": {"columns": FEATURES, "data": frame[FEATURES].to_numpy().tolist()}}
    )


def log_requests(
    deployment: str,
    frames: list[Any],
    model: Any,
    *,
    start_ms: int = T0,
    step_ms: int = 1000,
    version: str = "1",
    status: int = 200,
    latency_ms: float = 5.0,
    body: Any = split_body,
) -> list[str]:
    """One request per frame, logged as one payload file; returns the request ids."""
    ids, rows = [], []
    for k, frame in enumerate(frames):
        rid = uuid.uuid4().hex
        ids.append(rid)
        preds = model.predict(frame[FEATURES]).tolist() if status < 400 else None
        rows.append(
            {
                "request_id": rid,
                "deployment": deployment,
                "route": "main",
                "model_uri": "models:/churn@champion",
                "model_version": version,
                "status": status,
                "latency_ms": latency_ms,
                "ts_ms": start_ms + k * step_ms,
                "shadow": False,
                "protocol": "mlflow",
                "content_type": "application/json",
                "inputs": body(frame).decode(),
                "outputs": None if preds is None else orjson.dumps({"predictions": preds}).decode(),
            }
        )
    write_payload_file(deployment, rows)
    return ids


def write_payload_file(deployment: str, rows: list[dict[str, Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from loopml.monitoring import _stores
    from loopml.store.metadata.deployments_base import PayloadFile

    table = pa.table(
        {
            "request_id": [r["request_id"] for r in rows],
            "deployment": [r["deployment"] for r in rows],
            "route": [r["route"] for r in rows],
            "model_uri": [r["model_uri"] for r in rows],
            "model_version": [r["model_version"] for r in rows],
            "status": pa.array([r["status"] for r in rows], pa.int32()),
            "latency_ms": pa.array([r["latency_ms"] for r in rows], pa.float64()),
            "ts_ms": pa.array([r["ts_ms"] for r in rows], pa.int64()),
            "shadow": [r["shadow"] for r in rows],
            "protocol": [r["protocol"] for r in rows],
            "content_type": [r["content_type"] for r in rows],
            "inputs": [r["inputs"] for r in rows],
            "outputs": [r["outputs"] for r in rows],
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    info = _stores.object_store().put_bytes(sink.getvalue())
    ts = [r["ts_ms"] for r in rows]
    _stores.deployment_store().add_payload_file(
        deployment, PayloadFile(info.hash, len(rows), min(ts), max(ts), max(ts))
    )
