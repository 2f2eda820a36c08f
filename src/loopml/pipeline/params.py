"""Pipeline parameters: from the call, the CLI (``-p k=v`` strings) or a YAML config, checked
against the pipeline function's signature before anything runs."""

from __future__ import annotations

import inspect
import json
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loopml.errors import InvalidParameterError, NotFoundError

__all__ = ["Param", "coerce", "parse_cli_params", "read_config", "resolve_params"]

_MISSING: Any = inspect.Parameter.empty
_INFERRED = (bool, int, float, str, list, dict)


@dataclass(frozen=True)
class Param:
    name: str
    default: Any = _MISSING
    annotation: Any = _MISSING

    @property
    def required(self) -> bool:
        return self.default is _MISSING

    @property
    def type_name(self) -> str | None:
        ann = self.annotation
        if ann is _MISSING:
            return None
        return ann if isinstance(ann, str) else getattr(ann, "__name__", str(ann))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "required": self.required,
            "default": None if self.required else self.default,
            "type": self.type_name,
        }


def params_of(fn: Any) -> dict[str, Param]:
    sig = inspect.signature(fn)
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # unresolvable annotations: keep them as text
        hints = {}
    out: dict[str, Param] = {}
    for p in sig.parameters.values():
        if p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            raise InvalidParameterError(
                f"pipeline {fn.__name__!r} takes *args/**kwargs: name each parameter so it can "
                "be set from the CLI or a config file"
            )
        annotation = hints.get(p.name, p.annotation)
        if annotation is _MISSING and type(p.default) in _INFERRED:
            annotation = type(p.default)  # `n=100` types -p n=200 as an int
        out[p.name] = Param(p.name, p.default, annotation)
    return out


def read_config(path: str | Path) -> dict[str, Any]:
    """A YAML (or JSON) file of parameters: a mapping, or one under a ``params:`` key."""
    import yaml

    file = Path(path)
    if not file.is_file():
        raise NotFoundError(f"pipeline config {file} does not exist", path=str(file))
    try:
        body = yaml.safe_load(file.read_text())
    except yaml.YAMLError as exc:
        raise InvalidParameterError(f"{file} is not valid YAML: {exc}", path=str(file)) from None
    if body is None:
        return {}
    if isinstance(body, dict) and isinstance(body.get("params"), dict):
        body = body["params"]
    if not isinstance(body, dict) or not all(isinstance(k, str) for k in body):
        raise InvalidParameterError(
            f"{file} must hold a mapping of parameter names to values (optionally under 'params:')",
            path=str(file),
        )
    return dict(body)


def parse_cli_params(items: list[str]) -> dict[str, str]:
    """``["n=200", "name=x"]`` -> ``{"n": "200", "name": "x"}`` (typed later by coerce)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidParameterError(f"parameter {item!r} is not KEY=VALUE")
        out[key.strip()] = value
    return out


def coerce(param: Param, value: Any, pipeline: str) -> Any:
    """Type a value against the parameter's annotation: CLI strings become ints, floats,
    bools or JSON; a value of the wrong type is an error naming the parameter."""
    ann = param.annotation
    if ann is _MISSING or ann is Any or isinstance(ann, str):
        return value
    origin = typing.get_origin(ann) or ann
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        args = typing.get_args(ann)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return coerce(Param(param.name, param.default, arg), value, pipeline)
            except InvalidParameterError:
                continue
        raise _wrong(param, value, pipeline)
    if not isinstance(origin, type):
        return value
    if isinstance(value, str) and origin is not str:
        value = _from_text(param, value, origin, pipeline)
    if origin is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if origin is bool and not isinstance(value, bool):
        raise _wrong(param, value, pipeline)
    if origin is int and isinstance(value, bool):
        raise _wrong(param, value, pipeline)
    if not isinstance(value, origin):
        raise _wrong(param, value, pipeline)
    return value


def _from_text(param: Param, text: str, origin: type, pipeline: str) -> Any:
    try:
        if origin is bool:
            lowered = text.strip().lower()
            if lowered in ("true", "1", "yes", "on"):
                return True
            if lowered in ("false", "0", "no", "off"):
                return False
            raise ValueError(text)
        if origin is int:
            return int(text)
        if origin is float:
            return float(text)
        return json.loads(text)
    except ValueError:
        raise _wrong(param, text, pipeline) from None


def _wrong(param: Param, value: Any, pipeline: str) -> InvalidParameterError:
    return InvalidParameterError(
        f"parameter {param.name!r} of pipeline {pipeline!r} must be {param.type_name}, got "
        f"{value!r}",
        param=param.name,
    )


def resolve_params(
    pipeline: str,
    declared: Mapping[str, Param],
    given: Mapping[str, Any] | None = None,
    config: str | Path | None = None,
) -> dict[str, Any]:
    """Every parameter's value: given > config file > default; unknown or missing ones fail."""
    merged: dict[str, Any] = {}
    if config is not None:
        merged.update(read_config(config))
    merged.update(given or {})
    unknown = sorted(set(merged) - set(declared))
    if unknown:
        raise InvalidParameterError(
            f"pipeline {pipeline!r} has no parameter {', '.join(map(repr, unknown))}; its "
            f"parameters are: {', '.join(declared) or '(none)'}",
            unknown=unknown,
        )
    out: dict[str, Any] = {}
    missing = []
    for name, param in declared.items():
        if name in merged:
            out[name] = coerce(param, merged[name], pipeline)
        elif param.required:
            missing.append(name)
        else:
            out[name] = param.default
    if missing:
        names = ", ".join(missing)
        raise InvalidParameterError(
            f"pipeline {pipeline!r} needs parameter(s) {names}: pass them to the call, as "
            f"-p {missing[0]}=... on the command line, or in a config file",
            missing=missing,
        )
    return out
