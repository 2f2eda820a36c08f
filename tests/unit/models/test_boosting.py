"""XGBoost and LightGBM in their native formats: identical predictions and probabilities."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from loopml.models import load_model, save_model

np = pytest.importorskip("numpy")


def test_xgboost_classifier_on_a_frame(churn: tuple[Any, Any], tmp_path: Path) -> None:
    xgboost = pytest.importorskip("xgboost")
    frame, label = churn
    x = frame[["tenure", "spend", "tickets"]]
    model = xgboost.XGBClassifier(n_estimators=20, max_depth=3).fit(x, label)
    manifest = save_model(model, tmp_path / "xgb", input_example=x[:5])
    assert manifest.flavor == "xgboost" and (tmp_path / "xgb" / "model.ubj").is_file()
    assert any(r.startswith("xgboost==") for r in manifest.requirements)
    loaded = load_model(tmp_path / "xgb")
    assert np.array_equal(loaded.predict(x), model.predict(x))
    assert np.array_equal(loaded.predict(x, method="predict_proba"), model.predict_proba(x))


def test_xgboost_booster_on_arrays(arrays: tuple[Any, Any], tmp_path: Path) -> None:
    xgboost = pytest.importorskip("xgboost")
    x, y = arrays
    booster = xgboost.train(
        {"objective": "binary:logistic", "max_depth": 2}, xgboost.DMatrix(x, label=y), 10
    )
    save_model(booster, tmp_path / "b", input_example=x[:3])
    loaded = load_model(tmp_path / "b")
    assert np.array_equal(loaded.predict(x), booster.predict(xgboost.DMatrix(x)))


def test_lightgbm_classifier_native_text(churn: tuple[Any, Any], tmp_path: Path) -> None:
    lightgbm = pytest.importorskip("lightgbm")
    frame, label = churn
    x = frame[["tenure", "spend", "tickets"]]
    labels = np.where(label == 1, "churn", "stay")
    model = lightgbm.LGBMClassifier(n_estimators=20, verbose=-1).fit(x, labels)
    manifest = save_model(model, tmp_path / "lgb", input_example=x[:5])
    assert manifest.flavor == "lightgbm"
    assert (tmp_path / "lgb" / "model.txt").read_text().startswith("tree")
    assert manifest.flavor_options["classes"] == ["churn", "stay"]
    loaded = load_model(tmp_path / "lgb")
    assert (loaded.predict(x) == model.predict(x)).all()
    assert np.array_equal(loaded.predict(x, method="predict_proba"), model.predict_proba(x))
    json.dumps(loaded.metadata)  # the manifest stays plain JSON


def test_lightgbm_regressor(arrays: tuple[Any, Any], tmp_path: Path) -> None:
    lightgbm = pytest.importorskip("lightgbm")
    x, _ = arrays
    target = x[:, 0] * 2 + x[:, 2]
    model = lightgbm.LGBMRegressor(n_estimators=15, verbose=-1).fit(x, target)
    save_model(model, tmp_path / "r", input_example=x[:2])
    loaded = load_model(tmp_path / "r")
    assert loaded.methods == frozenset({"predict"})
    assert np.array_equal(loaded.predict(x), model.predict(x))
