"""How step outputs become objects: one materializer per kind of value, chosen by type.

Tables go to Parquet, arrays to ``.npy``, JSON values to canonical JSON, trained models to a
loopml model package, paths to files or folders, anything else to cloudpickle (with a
warning). Each is deterministic where it can be, so equal outputs get equal hashes and the
steps downstream of a re-run that changed nothing still hit the cache. Types are recognised by
module name, so choosing a materializer never imports pandas or scikit-learn.
"""

from __future__ import annotations

import io
import math
import shutil
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from loopml.errors import InvalidParameterError

if TYPE_CHECKING:
    from loopml.store.objects import ObjectStore

__all__ = [
    "Materializer",
    "Stored",
    "builtin_materializers",
    "choose",
    "get_materializer",
    "register_materializer",
    "type_name",
]

# (hash, kind "file" | "dir", meta): what a materializer reports about a stored value.
Stored = tuple[str, str, dict[str, Any]]


def type_name(value: Any) -> str:
    cls = type(value)
    return f"{cls.__module__}.{cls.__qualname__}"


def _mro_names(value: Any) -> set[tuple[str, str]]:
    """(top-level package, class name) of every class in the value's MRO: robust to where a
    library keeps a class (``pandas.core.frame.DataFrame`` is ``pandas.DataFrame`` in 3.x)."""
    return {(c.__module__.split(".", 1)[0], c.__qualname__) for c in type(value).__mro__}


class Materializer(ABC):
    """Stores and loads one kind of value. Subclass it and pass an instance to
    :func:`register_materializer` to teach pipelines a new type."""

    name: str = ""

    @abstractmethod
    def matches(self, value: Any) -> bool: ...

    @abstractmethod
    def save(self, value: Any, store: ObjectStore) -> Stored: ...

    @abstractmethod
    def load(self, store: ObjectStore, hash: str, meta: dict[str, Any]) -> Any: ...


def _is_json(value: Any, depth: int = 0) -> bool:
    """True if JSON round-trips ``value`` exactly (same types, same values)."""
    if depth > 64:
        return False
    if value is None or isinstance(value, bool | str):
        return True
    if type(value) is int:
        return -(2**63) <= value < 2**64
    if type(value) is float:
        return math.isfinite(value)
    if type(value) is list:
        return all(_is_json(v, depth + 1) for v in value)
    if type(value) is dict:
        return all(type(k) is str and _is_json(v, depth + 1) for k, v in value.items())
    return False


class JsonMaterializer(Materializer):
    name = "json"

    def matches(self, value: Any) -> bool:
        return _is_json(value)

    def save(self, value: Any, store: ObjectStore) -> Stored:
        return store.put_bytes(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hash, "file", {}

    def load(self, store: ObjectStore, hash: str, meta: dict[str, Any]) -> Any:
        return orjson.loads(store.get_bytes(hash))


class PandasMaterializer(Materializer):
    name = "pandas"

    def matches(self, value: Any) -> bool:
        return ("pandas", "DataFrame") in _mro_names(value)

    def save(self, value: Any, store: ObjectStore) -> Stored:
        buf = io.BytesIO()
        value.to_parquet(buf, engine="pyarrow", compression="zstd")
        return store.put_bytes(buf.getvalue()).hash, "file", {"format": "parquet"}

    def load(self, store: ObjectStore, hash: str, meta: dict[str, Any]) -> Any:
        import pandas as pd

        return pd.read_parquet(io.BytesIO(store.get_bytes(hash)), engine="pyarrow")


class ArrowMaterializer(Materializer):
    name = "pyarrow"

    def matches(self, value: Any) -> bool:
        return ("pyarrow", "Table") in _mro_names(value)

    def save(self, value: Any, store: ObjectStore) -> Stored:
        import pyarrow.parquet as pq

        buf = io.BytesIO()
        pq.write_table(value, buf, compression="zstd")
        return store.put_bytes(buf.getvalue()).hash, "file", {"format": "parquet"}

    def load(self, store: ObjectStore, hash: str, meta: dict[str, Any]) -> Any:
        import pyarrow.parquet as pq

        return pq.read_table(io.BytesIO(store.get_bytes(hash)))


class NumpyMaterializer(Materializer):
    name = "numpy"

    def matches(self, value: Any) -> bool:
        return ("numpy", "ndarray") in _mro_names(value) and value.dtype.kind != "O"

    def save(self, value: Any, store: ObjectStore) -> Stored:
        import numpy as np

        buf = io.BytesIO()
        np.save(buf, value, allow_pickle=False)
        return store.put_bytes(buf.getvalue()).hash, "file", {"format": "npy"}

    def load(self, store: ObjectStore, hash: str, meta: dict[str, Any]) -> Any:
        import numpy as np

        return np.load(io.BytesIO(store.get_bytes(hash)), allow_pickle=False)


_MODEL_BASES = {
    ("sklearn", "BaseEstimator"),
    ("xgboost", "Booster"),
    ("xgboost", "XGBModel"),
    ("lightgbm", "Booster"),
    ("lightgbm", "LGBMModel"),
    ("torch", "Module"),
    ("loopml", "PythonModel"),
}


class ModelMaterializer(Materializer):
    """A trained model becomes a loopml model package, the unit the registry versions."""

    name = "model"

    def matches(self, value: Any) -> bool:
        return bool(_mro_names(value).intersection(_MODEL_BASES))

    def save(self, value: Any, store: ObjectStore, input_example: Any = None) -> Stored:
        from loopml.models.package import save_model

        with tempfile.TemporaryDirectory(prefix="loopml-step-model-") as temp:
            folder = Path(temp) / "model"
            manifest = save_model(value, folder, input_example=input_example)
            info = store.put_dir(folder)
        return info.hash, "dir", {"flavor": manifest.flavor}

    def load(self, store: ObjectStore, hash: str, meta: dict[str, Any]) -> Any:
        from loopml.models.flavors import get_flavor
        from loopml.models.manifest import read_manifest

        with tempfile.TemporaryDirectory(prefix="loopml-step-model-") as temp:
            folder = store.get_dir(hash, Path(temp) / "model")
            manifest = read_manifest(folder)
            predictor = get_flavor(manifest.flavor).load(folder, manifest.flavor_options)
            return getattr(predictor, "model", predictor)


class PathMaterializer(Materializer):
    """A returned file or folder is copied into the store; loading gives a read-only copy."""

    name = "path"

    def matches(self, value: Any) -> bool:
        return isinstance(value, Path)

    def save(self, value: Any, store: ObjectStore) -> Stored:
        path = Path(value)
        if path.is_dir():
            return store.put_dir(path).hash, "dir", {"name": path.name, "is_dir": True}
        if path.is_file():
            return store.put_file(path).hash, "file", {"name": path.name, "is_dir": False}
        raise InvalidParameterError(f"the returned path {path} does not exist")

    def load(self, store: ObjectStore, hash: str, meta: dict[str, Any]) -> Any:
        from loopml.tracking.context import get_context

        base = get_context().settings.state_dir / "pipeline" / "outputs" / hash
        target = base / str(meta.get("name") or "output")
        if target.exists():
            return target
        temp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=_mkdir(base)))
        try:
            inner = temp / target.name
            if meta.get("is_dir"):
                store.get_dir(hash, inner)
            else:
                store.get_file(hash, inner)
            try:
                inner.rename(target)
            except OSError:
                if not target.exists():
                    raise
        finally:
            shutil.rmtree(temp, ignore_errors=True)
        return target


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


class PickleMaterializer(Materializer):
    """The last resort: anything cloudpickle can serialise (loading runs its code: trust it)."""

    name = "pickle"

    def matches(self, value: Any) -> bool:
        return True

    def save(self, value: Any, store: ObjectStore) -> Stored:
        import pickle

        import cloudpickle

        data = cloudpickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        return store.put_bytes(data).hash, "file", {}

    def load(self, store: ObjectStore, hash: str, meta: dict[str, Any]) -> Any:
        import pickle

        return pickle.loads(store.get_bytes(hash))  # noqa: S301 -- our own verified object


_BUILTIN: list[Materializer] = [
    PathMaterializer(),
    ModelMaterializer(),
    PandasMaterializer(),
    ArrowMaterializer(),
    NumpyMaterializer(),
    JsonMaterializer(),
]
PICKLE = PickleMaterializer()
_custom: list[Materializer] = []


def builtin_materializers() -> list[Materializer]:
    return [*_BUILTIN, PICKLE]


def register_materializer(materializer: Materializer) -> None:
    """Use ``materializer`` for the values it matches, before the built-in ones."""
    if not isinstance(materializer, Materializer) or not materializer.name:
        raise InvalidParameterError(
            "register_materializer takes a Materializer instance with a non-empty name"
        )
    _custom[:] = [m for m in _custom if m.name != materializer.name]
    _custom.insert(0, materializer)


def custom_materializers() -> list[Materializer]:
    return list(_custom)


def choose(value: Any, extra: list[Materializer] | None = None) -> Materializer:
    for m in [*(extra if extra is not None else _custom), *_BUILTIN]:
        if m.matches(value):
            return m
    return PICKLE


def get_materializer(name: str, extra: list[Materializer] | None = None) -> Materializer:
    for m in [*(extra if extra is not None else _custom), *_BUILTIN, PICKLE]:
        if m.name == name:
            return m
    raise InvalidParameterError(
        f"no materializer named {name!r} is registered in this process: register it with "
        "loopml.pipeline.register_materializer before loading the output",
        materializer=name,
    )
