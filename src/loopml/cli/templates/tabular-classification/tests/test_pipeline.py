"""The project's own tests: the schema stops bad data, features are sound, the pipeline trains.

Steps called outside a pipeline are plain functions, so they are tested like any other code.
The end-to-end test runs the pipeline in a throw-away loopml project (the real one is left alone).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from pipelines.training import SLICE, TARGET, check_table, prepare

import loopml
from loopml.errors import DataValidationError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    frame: pd.DataFrame = load_breast_cancer(as_frame=True).frame
    return frame


def test_the_raw_table_passes_its_schema(raw: pd.DataFrame) -> None:
    check_table(raw)


@pytest.mark.parametrize(
    ("change", "column"),
    [
        (lambda df: df.assign(**{"mean radius": -1.0}), "mean radius"),
        (lambda df: df.drop(columns=["worst area"]), "worst area"),
        (lambda df: df.assign(target=df[TARGET].where(df.index > 5, None)), TARGET),
        (lambda df: df.head(10), None),
    ],
)
def test_bad_data_stops_the_pipeline(
    raw: pd.DataFrame, change: Callable[[pd.DataFrame], pd.DataFrame], column: str | None
) -> None:
    with pytest.raises(DataValidationError) as info:
        check_table(change(raw.copy()))
    if column is not None:
        assert column in str(info.value)


def test_prepare_splits_stratified_with_a_slice_column(raw: pd.DataFrame) -> None:
    train, test = prepare(raw, test_size=0.25, seed=7)
    assert len(train) + len(test) == len(raw)
    assert abs(len(test) / len(raw) - 0.25) < 0.01
    assert abs(train[TARGET].mean() - test[TARGET].mean()) < 0.02
    assert set(test[SLICE]) == {"small", "medium", "large"}
    assert "worst_to_mean_radius" in train.columns
    assert not any(" " in c for c in train.columns)


def test_the_pipeline_trains_and_registers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from loopml.pipeline import run_pipeline

    project = tmp_path / "project"
    shutil.copytree(
        ROOT / "pipelines", project / "pipelines", ignore=shutil.ignore_patterns("__pycache__")
    )
    (project / "loopml.toml").write_text("[loopml]\n")
    monkeypatch.chdir(project)
    loopml.configure(project)

    run = run_pipeline("pipelines/training.py:training", {"n_estimators": 30})
    assert run.status == "FINISHED", run.error
    metrics = run.output("evaluate")
    assert metrics["auc"] > 0.95
    assert run.registered, "the gate should pass with these parameters"
    again = run_pipeline("pipelines/training.py:training", {"n_estimators": 30})
    assert all(s.cache_hit for s in again.steps.values() if s.name != "register_if")
