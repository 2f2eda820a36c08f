"""Plain-Python models (:class:`loopml.PythonModel`) with arbitrary artifacts beside them.

Artifacts (files or folders) are copied into the package under ``artifacts/<name>``, so they
are hashed and verified with it; at load ``context.artifacts[name]`` is their local path.
"""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path
from typing import Any

from loopml.errors import InvalidParameterError, NotFoundError
from loopml.models.flavors.base import Saved
from loopml.models.python_model import PythonModel, PythonModelContext
from loopml.models.requirements import distributions_for_modules, modules_in_pickle

MODEL_FILE = "python_model.pkl"
ARTIFACTS = "artifacts"


class PythonPredictor:
    def __init__(self, model: PythonModel, context: PythonModelContext) -> None:
        self.model = model
        self.context = context
        self.methods = frozenset(
            m for m in ("predict", "predict_proba") if callable(getattr(model, m, None))
        )

    def predict(self, data: Any, method: str) -> Any:
        return getattr(self.model, method)(self.context, data)


class PythonFlavor:
    name = "python"

    def save(self, model: Any, path: Path, options: dict[str, Any]) -> Saved:
        import cloudpickle

        if not isinstance(model, PythonModel):
            raise InvalidParameterError(
                f"the python flavor takes a loopml.PythonModel, got {type(model).__qualname__}"
            )
        stored: dict[str, str] = {}
        for name, source in (options.get("artifacts") or {}).items():
            stored[name] = _copy_artifact(str(name), Path(source), path)
        data = cloudpickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
        (path / MODEL_FILE).write_bytes(data)
        requirements = distributions_for_modules(modules_in_pickle(data) | {"cloudpickle"})
        return Saved({"file": MODEL_FILE, "artifacts": stored}, requirements, "native")

    def load(self, path: Path, options: dict[str, Any]) -> PythonPredictor:
        with (path / options.get("file", MODEL_FILE)).open("rb") as fh:
            model = pickle.load(fh)  # noqa: S301 -- the package's hashes are verified first
        artifacts = {name: str(path / rel) for name, rel in options.get("artifacts", {}).items()}
        context = PythonModelContext(artifacts, dict(options.get("metadata") or {}))
        model.load_context(context)
        return PythonPredictor(model, context)


def _copy_artifact(name: str, source: Path, package: Path) -> str:
    if not name or "/" in name or name.startswith("."):
        raise InvalidParameterError(
            f"artifact name {name!r} must be a plain name (no '/', not starting with '.')"
        )
    if not source.exists():
        raise NotFoundError(f"artifact {name!r}: {source} does not exist", path=str(source))
    target = package / ARTIFACTS / name / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copy2(source, target)
    return target.relative_to(package).as_posix()


FLAVOR = PythonFlavor()
