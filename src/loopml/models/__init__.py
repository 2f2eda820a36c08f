"""Portable model packages: save, log, load and check a model with its signature and needs.

A package is a folder with ``loopml-model.json`` (flavor, signature, input example, pinned
requirements, BLAKE3 of every file) and the flavor's files; stored as a folder artifact, its
manifest hash is its identity. Names load on first use so that this package stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loopml.models.container import write_build_context
    from loopml.models.convert import to_onnx
    from loopml.models.environment import EnvReport, check_environment
    from loopml.models.load import load_model
    from loopml.models.loaded import LoadedModel
    from loopml.models.log import ModelInfo, log_model
    from loopml.models.manifest import PackageManifest
    from loopml.models.package import save_model
    from loopml.models.python_model import PythonModel, PythonModelContext
    from loopml.models.resolve import register_uri_resolver
    from loopml.models.schema import ColumnSpec, Schema, Signature, infer_signature
    from loopml.models.venv import EnvBuild, build_env

_LAZY: dict[str, str] = {
    "ColumnSpec": "schema",
    "EnvBuild": "venv",
    "EnvReport": "environment",
    "LoadedModel": "loaded",
    "ModelInfo": "log",
    "PackageManifest": "manifest",
    "PythonModel": "python_model",
    "PythonModelContext": "python_model",
    "Schema": "schema",
    "Signature": "schema",
    "build_env": "venv",
    "check_environment": "environment",
    "infer_signature": "schema",
    "load_model": "load",
    "log_model": "log",
    "register_uri_resolver": "resolve",
    "save_model": "package",
    "to_onnx": "convert",
    "write_build_context": "container",
}

__all__ = [
    "ColumnSpec",
    "EnvBuild",
    "EnvReport",
    "LoadedModel",
    "ModelInfo",
    "PackageManifest",
    "PythonModel",
    "PythonModelContext",
    "Schema",
    "Signature",
    "build_env",
    "check_environment",
    "infer_signature",
    "load_model",
    "log_model",
    "register_uri_resolver",
    "save_model",
    "to_onnx",
    "write_build_context",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'loopml.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"loopml.models.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(__all__) | set(globals()))
