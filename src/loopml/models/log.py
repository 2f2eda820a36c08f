"""``log_model``: save a package and store it as a folder artifact of a run.

The folder's manifest hash is the package's identity: logging the same model twice stores
its bytes once, and the registry records that hash, not a path that could change.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loopml.errors import InvalidStateError
from loopml.models.manifest import PackageManifest
from loopml.models.package import save_model
from loopml.models.schema import Signature

__all__ = ["ModelInfo", "log_model"]


@dataclass(frozen=True)
class ModelInfo:
    uri: str
    run_id: str
    artifact_path: str
    package_hash: str
    flavor: str
    signature: Signature | None
    manifest: PackageManifest


def log_model(
    model: Any,
    artifact_path: str = "model",
    *,
    input_example: Any = None,
    flavor: str | None = None,
    method: str | None = None,
    pip_requirements: list[str] | None = None,
    artifacts: Mapping[str, str | Path] | None = None,
    metadata: Mapping[str, Any] | None = None,
    flavor_options: Mapping[str, Any] | None = None,
    run_id: str | None = None,
) -> ModelInfo:
    """Package ``model`` and log it to the active run (or ``run_id``) at ``artifact_path``.

    The flavor is detected from the model's class unless given; the signature is inferred
    from ``input_example`` and the model's prediction on it.
    """
    from loopml.tracking import fluent

    if run_id is None:
        active = fluent.active_run()
        if active is None:
            raise InvalidStateError(
                "log_model needs a run: call it inside `with loopml.start_run():` or pass "
                "run_id=; to write a package folder without a run, use "
                "loopml.models.save_model(model, path)"
            )
        run_id = active.run_id
    with tempfile.TemporaryDirectory(prefix="loopml-model-") as temp:
        folder = Path(temp) / "model"
        manifest = save_model(
            model,
            folder,
            input_example=input_example,
            flavor=flavor,
            method=method,
            pip_requirements=pip_requirements,
            artifacts=artifacts,
            metadata=metadata,
            flavor_options=flavor_options,
        )
        record = fluent.client().log_artifacts(run_id, folder, artifact_path)
    return ModelInfo(
        uri=f"runs:/{run_id}/{record.path}",
        run_id=run_id,
        artifact_path=record.path,
        package_hash=record.object_hash,
        flavor=manifest.flavor,
        signature=manifest.signature,
        manifest=manifest,
    )
