"""``load_pipeline("pipelines/training.py:training")``: find a pipeline by reference.

A file is imported under a name derived from its path, and its functions are pickled by value,
so that worker processes and Ray tasks can run its steps without the file on their path.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from loopml.config import find_project_root
from loopml.errors import InvalidParameterError, NotFoundError
from loopml.pipeline.definition import Pipeline

__all__ = ["load_pipeline", "split_ref"]


def split_ref(ref: str) -> tuple[str, str | None]:
    """``"a/b.py:name"`` -> (``"a/b.py"``, ``"name"``); a Windows drive colon is not a split."""
    head, sep, tail = ref.rpartition(":")
    if not sep or not head or "/" in tail or "\\" in tail or tail.endswith(".py"):
        return ref, None
    return head, tail


def _module_from_file(path: Path) -> ModuleType:
    resolved = path.resolve()
    name = "loopml_pipeline_" + hashlib.sha1(str(resolved).encode()).hexdigest()[:12]  # noqa: S324
    stamp = resolved.stat().st_mtime_ns
    cached = sys.modules.get(name)
    if cached is not None and getattr(cached, "__loopml_mtime__", None) == stamp:
        return cached
    # the file's folder and its project's root, so `import helpers` and
    # `from pipelines.features import f` work as they do when run from the project
    for folder in (str(find_project_root(resolved.parent)), str(resolved.parent)):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(name, resolved)
    if spec is None or spec.loader is None:
        raise InvalidParameterError(f"cannot import {path}: it is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    module.__loopml_mtime__ = stamp  # type: ignore[attr-defined]
    import cloudpickle

    cloudpickle.register_pickle_by_value(module)
    return module


def load_pipeline(ref: str) -> Pipeline:
    """The pipeline at ``path/file.py:name`` or ``package.module:name``.

    Without ``:name`` the file must define exactly one pipeline.
    """
    target, attr = split_ref(ref)
    if target.endswith(".py") or "/" in target or "\\" in target:
        path = Path(target)
        if not path.is_file():
            raise NotFoundError(
                f"pipeline file {path} does not exist (from {ref!r}); pass path/to/file.py:name",
                ref=ref,
            )
        module = _module_from_file(path)
        shown = str(path.resolve())
    else:
        try:
            module = importlib.import_module(target)
        except ModuleNotFoundError as exc:
            raise NotFoundError(
                f"cannot import {target!r} for pipeline {ref!r}: {exc}; pass "
                "path/to/file.py:name or an importable module:name",
                ref=ref,
            ) from None
        shown = target
    if attr is None:
        found = [v for v in vars(module).values() if isinstance(v, Pipeline)]
        if len(found) != 1:
            names = ", ".join(p.name for p in found) or "none"
            raise InvalidParameterError(
                f"{target} defines {len(found)} pipelines ({names}): name one, as {target}:NAME",
                ref=ref,
            )
        pipe = found[0]
        attr = next(k for k, v in vars(module).items() if v is pipe)
    else:
        value = getattr(module, attr, None)
        if value is None:
            raise NotFoundError(f"{target} has no pipeline named {attr!r}", ref=ref)
        if not isinstance(value, Pipeline):
            raise InvalidParameterError(
                f"{target}:{attr} is a {type(value).__name__}, not a @pipeline", ref=ref
            )
        pipe = value
    pipe.ref = f"{shown}:{attr}"
    return pipe
