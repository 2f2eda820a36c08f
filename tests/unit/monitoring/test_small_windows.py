"""Small windows are tested with KS, whose p-value knows the window's size: an effect-size test
(Wasserstein >= 0.1 std) flags unshifted columns by sampling noise alone at a few hundred rows."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from loopml.data import DriftReference
from loopml.monitoring.metrics import SMALL_WINDOW, _input_drift
from loopml.monitoring.reference import Reference

FEATURES = [f"f{i}" for i in range(6)]


def _reference(rng: np.random.Generator) -> Reference:
    table = pa.table({f: rng.normal(size=5000) for f in FEATURES})
    return Reference(
        model_uri="models:/m/1",
        dataset_uri=None,
        features=FEATURES,
        dtypes=dict.fromkeys(FEATURES, "double"),
        table=table,
        samples=DriftReference(table),
        labels=None,
        label_column=None,
        predictions=None,
    )


def _window(rng: np.random.Generator, n: int, shift: float = 0.0) -> pa.Table:
    return pa.table(
        {f: rng.normal(loc=shift if i < 3 else 0.0, size=n) for i, f in enumerate(FEATURES)}
    )


def test_small_unshifted_windows_rarely_drift_and_shifted_ones_do() -> None:
    rng = np.random.default_rng(3)
    ref = _reference(rng)
    flagged = sum(len(_input_drift(ref, _window(rng, 300), 0.5)["drifted"]) for _ in range(20))
    assert flagged / (20 * len(FEATURES)) < 0.08  # ~18% with the effect-size test
    shifted = _input_drift(ref, _window(rng, 300, shift=0.5), 0.5)
    assert set(shifted["drifted"]) >= {"f0", "f1", "f2"}
    assert {c["test"] for c in shifted["columns"].values()} == {"ks"}


def test_large_windows_keep_the_effect_size_test() -> None:
    rng = np.random.default_rng(4)
    report = _input_drift(_reference(rng), _window(rng, SMALL_WINDOW * 2), 0.5)
    assert {c["test"] for c in report["columns"].values()} == {"wasserstein"}
    assert report["drifted"] == []
