"""The training reference of a served model version: its input data and its predictions on it.

A model version knows the dataset versions its run read (``ModelVersion.datasets``); the one
read for training is the reference. Its feature columns are kept as a
:class:`~loopml.data.DriftReference` (each column sorted or counted once, then reused by every
window), and the model's predictions on it are computed once per (package, dataset) and stored
as a Parquet object, so output drift never reloads the model after the first time.
"""

from __future__ import annotations

import io
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from loopml.errors import LoopmlError
from loopml.monitoring import _stores

__all__ = ["Reference", "reference_for"]

log = logging.getLogger("loopml.monitoring")

MAX_REFERENCE_ROWS = 200_000  # a uniform sample above this: drift tests need no more
_cache: OrderedDict[str, Reference | str] = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_SIZE = 8


@dataclass
class Reference:
    model_uri: str  # models:/<name>/<version>
    dataset_uri: str | None
    features: list[str]
    dtypes: dict[str, str]
    table: Any  # pyarrow.Table of the features
    samples: Any  # DriftReference
    labels: Any  # numpy array of the label column, or None
    label_column: str | None
    predictions: Any  # pyarrow.Table (value, label, score) on ``table``, or None
    metrics: dict[str, float] = field(default_factory=dict)  # recorded at registration
    notes: list[str] = field(default_factory=list)


def reference_for(model_uri: str, model_version: str) -> Reference | str:
    """The reference of the version served as ``model_uri`` (an alias is pinned by
    ``model_version``), or the reason there is none (e.g. the version recorded no dataset)."""
    name = _model_name(model_uri)
    if name is None:
        return f"{model_uri} is not a registered model, so it has no training reference"
    key = f"models:/{name}/{model_version}"
    cache_key = f"{_stores.context().settings.metadata_url}|{key}"  # one cache, many projects
    with _cache_lock:
        found = _cache.get(cache_key)
        if found is not None:
            _cache.move_to_end(cache_key)
            return found
    try:
        made: Reference | str = _build(name, model_version)
    except LoopmlError as exc:  # maybe passing (a store away): not cached, tried next window
        return f"no training reference for {key}: {exc}"
    with _cache_lock:
        _cache[cache_key] = made
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return made


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def _model_name(uri: str) -> str | None:
    if not uri.startswith("models:/"):
        return None
    rest = uri[len("models:/") :]
    return rest.split("@", 1)[0].split("/", 1)[0] or None


def _build(name: str, version: str) -> Reference | str:
    from loopml.data import DriftReference, read_table
    from loopml.registry import get_model_version

    if not version.isdigit():
        return f"models:/{name} version {version!r} is not a registry version number"
    mv = get_model_version(name, int(version))
    links = sorted(mv.datasets, key=lambda d: d.context != "training")
    if not links:
        return (
            f"{mv.uri} recorded no input dataset: call loopml.log_input(...) in its training "
            "run so monitoring can compare traffic with the training data"
        )
    link = links[0]
    table = read_table(link.uri, as_arrow=True)
    features = _features(mv.signature, table.column_names)
    label_column = _label(table.column_names, features)
    if table.num_rows > MAX_REFERENCE_ROWS:
        rng = np.random.default_rng(0)
        keep = np.sort(rng.choice(table.num_rows, MAX_REFERENCE_ROWS, replace=False))
        table = table.take(keep)
    labels = table.column(label_column).to_numpy(zero_copy_only=False) if label_column else None
    features_table = table.select(features)
    dtypes = _dtypes(mv.signature, features_table)
    predictions = _predictions(mv, link.digest or link.uri, features_table)
    return Reference(
        model_uri=mv.uri,
        dataset_uri=link.uri,
        features=features,
        dtypes=dtypes,
        table=features_table,
        samples=DriftReference(features_table),
        labels=labels,
        label_column=label_column,
        predictions=predictions,
        metrics=dict(mv.metrics),
    )


def _features(signature: dict[str, Any] | None, available: list[str]) -> list[str]:
    inputs = (signature or {}).get("inputs") or {}
    if inputs.get("kind") == "columns":
        wanted = [str(c["name"]) for c in inputs.get("columns", [])]
        present = [c for c in wanted if c in available]
        if present:
            return present
    return list(available)


def _label(columns: list[str], features: list[str]) -> str | None:
    others = [c for c in columns if c not in set(features)]
    return others[0] if len(others) == 1 else None


def _dtypes(signature: dict[str, Any] | None, table: Any) -> dict[str, str]:
    inputs = (signature or {}).get("inputs") or {}
    if inputs.get("kind") == "columns":
        return {str(c["name"]): str(c["dtype"]) for c in inputs.get("columns", [])}
    return {name: str(table.schema.field(name).type) for name in table.column_names}


def _predictions(mv: Any, data_key: str, features: Any) -> Any:
    """The model's predictions on the reference, from the cache object or computed once."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    store = _stores.monitoring_store()
    objects = _stores.object_store()
    key = f"{mv.package_hash}:{data_key}:{features.num_rows}"[:160]
    cached = store.get_reference(key)
    if cached is not None and objects.exists(cached):
        return pq.read_table(io.BytesIO(objects.get_bytes(cached)))
    try:
        from loopml.models import load_model

        model = load_model(mv.uri)
        result = model.predict(features.to_pandas())
    except Exception as exc:  # a model that cannot load here still gets input drift
        log.warning("reference predictions of %s failed: %s", mv.uri, exc)
        return None
    table = _prediction_table(result)
    sink = io.BytesIO()
    pq.write_table(table, sink)
    info = objects.put_bytes(sink.getvalue())
    store.put_reference(key, info.hash)
    return table if isinstance(table, pa.Table) else None


def _prediction_table(result: Any) -> Any:
    import pyarrow as pa

    from loopml.monitoring.outputs import _from_array

    if hasattr(result, "to_numpy"):
        result = result.to_numpy()
    values, scores = _from_array(np.asarray(result))
    columns: dict[str, Any] = {}
    if values.dtype.kind in "biuf":
        columns["value"] = pa.array(values.astype(np.float64))
    else:
        columns["label"] = pa.array([None if v is None else str(v) for v in values.tolist()])
    if scores is not None:
        columns["score"] = pa.array(np.asarray(scores, dtype=np.float64))
    return pa.table(columns)
