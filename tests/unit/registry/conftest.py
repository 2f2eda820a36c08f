"""A logged model package to register, made by hand through the tracking API."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

import loopml

SIGNATURE = {
    "inputs": [{"name": "x1", "type": "double"}, {"name": "x2", "type": "double"}],
    "outputs": [{"type": "long"}],
}


def log_package(
    tmp: Path,
    *,
    path: str = "model",
    auc: float = 0.9,
    tags: dict[str, str] | None = None,
    nested: bool = False,
) -> str:
    """Start and finish a run that logs a minimal model package; returns its runs:/ URI."""
    folder = tmp / f"pkg-{auc}-{path}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "loopml-model.json").write_bytes(
        orjson.dumps({"format_version": 1, "flavor": "sklearn", "signature": SIGNATURE})
    )
    (folder / "model.pkl").write_bytes(f"weights {auc}".encode())
    with loopml.start_run(nested=nested) as run:
        loopml.log_params({"depth": 4, "n_estimators": 100})
        loopml.log_metric("auc", auc)
        if tags:
            loopml.set_tags(tags)
        loopml.log_artifacts(folder, path)
    return f"runs:/{run.run_id}/{path}"


@pytest.fixture
def make_package(project: Path, tmp_path: Path) -> Callable[..., str]:
    def make(**kw: object) -> str:
        return log_package(tmp_path / "packages", **kw)  # type: ignore[arg-type]

    return make
