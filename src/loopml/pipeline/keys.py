"""Keying one node of a run: resolve its data URIs, hash its parts, and remember per-function
results (reading and parsing source is the costly part of a cached re-run)."""

from __future__ import annotations

import contextlib
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loopml.pipeline.cachekey import KeyParts, code_parts, env_parts, make_key, params_parts
from loopml.pipeline.graph import InputRef, Node

__all__ = ["NodeKey", "key_node"]

_code_cache: weakref.WeakKeyDictionary[Any, tuple[dict[str, str], dict[str, str]]] = (
    weakref.WeakKeyDictionary()
)


@dataclass
class NodeKey:
    key: str
    parts: KeyParts
    literals: dict[str, Any]  # what the step receives (data URIs pinned to a version)
    datasets: list[str]  # pinned data:/ URIs the node reads
    inputs: dict[str, dict[str, Any]]  # argument -> upstream output record


class DataResolver:
    """``data:/name@latest`` -> (``data:/name/3``, manifest hash), once per run."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[str, str]] = {}

    def __call__(self, uri: str) -> tuple[str, str]:
        found = self._seen.get(uri)
        if found is None:
            from loopml.data.versions import resolve

            version = resolve(uri)
            found = self._seen[uri] = (version.uri, version.manifest_hash)
        return found


def _pin(value: Any, resolve: DataResolver, datasets: list[str]) -> tuple[Any, Any]:
    """(value the step gets, value the key sees) with every data URI inside pinned."""
    if isinstance(value, str) and value.startswith("data:/"):
        pinned, digest = resolve(value)
        datasets.append(pinned)
        return pinned, {"dataset": pinned, "hash": digest}
    if isinstance(value, list):
        pairs = [_pin(v, resolve, datasets) for v in value]
        return [p[0] for p in pairs], [p[1] for p in pairs]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        pairs_d = {k: _pin(v, resolve, datasets) for k, v in value.items()}
        return {k: p[0] for k, p in pairs_d.items()}, {k: p[1] for k, p in pairs_d.items()}
    return value, value


def function_parts(fn: Any, roots: tuple[Path, ...]) -> tuple[dict[str, str], dict[str, str]]:
    try:
        found = _code_cache.get(fn)
    except TypeError:
        found = None
    if found is None:
        found = (code_parts(fn, roots), env_parts(fn, roots))
        with contextlib.suppress(TypeError):
            _code_cache[fn] = found
    return found


def key_node(
    node: Node,
    outputs: dict[str, list[dict[str, Any]]],
    resolve: DataResolver,
    roots: tuple[Path, ...],
) -> NodeKey:
    literals: dict[str, Any] = {}
    keyed: dict[str, Any] = {}
    datasets: list[str] = []
    inputs: dict[str, dict[str, Any]] = {}
    for arg, value in node.inputs.items():
        if isinstance(value, InputRef):
            inputs[arg] = outputs[value.node][value.index]
        else:
            literals[arg], keyed[arg] = _pin(value, resolve, datasets)
    code, env = function_parts(node.step.fn, roots)
    key, parts = make_key(
        code, params_parts(keyed), {a: r["hash"] for a, r in sorted(inputs.items())}, env
    )
    return NodeKey(key, parts, literals, datasets, inputs)
