"""The registry with packages that ``loopml.log_model`` writes: register, resolve, load, card."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import loopml
from loopml import registry
from loopml.cli.main import app

pd = pytest.importorskip("pandas")
np = pytest.importorskip("numpy")


@pytest.fixture
def logged(project: Path) -> tuple[Any, Any, str]:
    from sklearn.ensemble import RandomForestClassifier

    from loopml.models import log_model

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"tenure": rng.normal(size=200), "noise": rng.normal(size=200)})
    frame["label"] = (frame["tenure"] > 0).astype(int)
    frame["plan"] = ["basic", "pro"] * 100
    features = frame[["tenure", "noise"]]
    model = RandomForestClassifier(n_estimators=20, random_state=0).fit(features, frame["label"])
    with loopml.start_run():
        loopml.log_metric("accuracy", 1.0)
        info = log_model(model, "model", input_example=features[:5])
    return model, frame, info.uri


def test_register_resolve_and_load(logged: tuple[Any, Any, str]) -> None:
    model, frame, uri = logged
    mv = registry.register_model(uri, "churn")
    assert mv.flavor == "sklearn" and mv.signature is not None
    assert mv.signature["inputs"]["columns"][0]["name"] == "tenure"
    loopml.set_alias("churn", "challenger", mv.version)
    loaded = loopml.load_model("models:/churn@challenger")
    features = frame[["tenure", "noise"]]
    assert (np.asarray(loaded.predict(features)) == model.predict(features)).all()
    assert (np.asarray(loopml.load_model("models:/churn/1").predict(features[:3])) >= 0).all()


def test_cli_card_loads_the_model_for_importance(
    logged: tuple[Any, Any, str], tmp_path: Path
) -> None:
    _, frame, uri = logged
    registry.register_model(uri, "churn")
    data = tmp_path / "eval.parquet"
    frame.to_parquet(data)
    out = tmp_path / "card.html"
    result = CliRunner().invoke(
        app,
        [
            "models",
            "card",
            "models:/churn/1",
            "-o",
            str(out),
            "--data",
            str(data),
            "--target",
            "label",
            "--slice-column",
            "plan",
        ],
    )
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert "<svg" in html and "tenure" in html and "Metrics by plan" in html
    assert "Input example" in html and "float64" in html
