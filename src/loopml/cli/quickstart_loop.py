"""Around the tracking tour of ``loopml quickstart``: data version, registry, schema, drift.

The tour's training table is versioned and every run records it as its input; the best run
becomes version N of ``quickstart-classifier`` with the ``champion`` alias; and a shifted "new
batch" is checked against a schema inferred from the training data and for drift, with an HTML
report to open. The live loop (serving, monitoring, retraining) follows in quickstart_demo.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATASET = "breast-cancer"
MODEL = "quickstart-classifier"
SHIFTED = ("mean radius", "mean texture", "worst area")


@dataclass(frozen=True)
class LoopResult:
    dataset_uri: str
    model_uri: str
    version: int
    schema_path: Path
    drift_path: Path
    drifted: list[str]
    anomalies: int


def version_training_data(root: Path, data: dict[str, Any]) -> Any:
    """Write the training table under ``data/`` and version it (no new version if unchanged)."""
    import loopml.data

    folder = root / "data"
    folder.mkdir(exist_ok=True)
    table = data["x_train"].assign(target=data["y_train"])
    path = folder / "breast_cancer_train.parquet"
    table.to_parquet(path, index=False)
    return loopml.data.add(path, name=DATASET, message="training split of load_breast_cancer")


def register_best(best_run_id: str) -> tuple[str, int]:
    """Register the best run's package and point ``champion`` at it."""
    import loopml

    version = loopml.register_model(
        f"runs:/{best_run_id}/model", MODEL, description="Best quickstart model by test AUC"
    )
    loopml.set_alias(MODEL, "champion", version.version, reason="best test AUC in quickstart")
    return f"models:/{MODEL}@champion", version.version


def check_new_batch(root: Path, data: dict[str, Any]) -> tuple[Path, Path, list[str], int]:
    """Infer a schema from training data, then validate a shifted batch and report its drift."""
    import loopml.data

    reference = data["x_train"]
    batch = data["x_test"].copy()
    for column in SHIFTED:
        batch[column] = batch[column] * 1.35
    schema = loopml.data.infer_schema(reference)
    schema_path = root / "schemas" / f"{DATASET}.yaml"
    schema_path.parent.mkdir(exist_ok=True)
    schema.to_yaml(schema_path)
    report = loopml.data.validate(batch, schema)
    drift = loopml.data.drift(reference=reference, current=batch)
    drift_path = root / "reports" / "drift.html"
    drift_path.parent.mkdir(exist_ok=True)
    drift.to_html(drift_path)
    return schema_path, drift_path, list(drift.drifted_columns), len(report.anomalies)
