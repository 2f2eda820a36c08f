"""A step's cache key: BLAKE3 over its code, parameters, inputs and environment.

* code: the step's source, parsed and dumped (comments, docstrings, formatting and decorator
  arguments do not count), plus the same for project-local functions and classes it uses;
* params: the literal arguments as canonical JSON (a ``data:/`` URI counts as the content
  hash of the version it resolves to);
* inputs: the content hashes of the upstream outputs it reads;
* env: the loopml version and the versions of the packages the step's module imports.

Each component is kept with its details, so ``explain_cache`` can say what changed.
"""

from __future__ import annotations

import ast
import functools
import inspect
import marshal
import sys
import textwrap
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import blake3
import orjson

from loopml._version import __version__

__all__ = ["KeyParts", "code_parts", "env_parts", "make_key", "params_parts"]

KeyParts = dict[str, dict[str, Any]]  # component -> {"hash": ..., "detail": {...}}

_MAX_DEPTH = 4


def _digest(data: bytes) -> str:
    return blake3.blake3(data).hexdigest()


def _canonical(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


class _Strip(ast.NodeTransformer):
    """Drop docstrings and decorators: they do not change what a function computes."""

    def _body(self, node: Any) -> Any:
        self.generic_visit(node)
        body = node.body
        if (
            body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
        if hasattr(node, "decorator_list"):
            node.decorator_list = []
        return node

    visit_FunctionDef = _body  # noqa: N815 -- ast.NodeTransformer's naming
    visit_AsyncFunctionDef = _body  # noqa: N815
    visit_ClassDef = _body  # noqa: N815


def _normalised(obj: Any) -> str:
    """The AST dump of ``obj``'s source; its bytecode when there is no source (a REPL)."""
    try:
        source = textwrap.dedent(inspect.getsource(obj))
        tree = _Strip().visit(ast.parse(source))
        return ast.dump(tree, annotate_fields=False)
    except (OSError, TypeError, SyntaxError):
        code = getattr(obj, "__code__", None)
        if code is None:
            return repr(obj)
        return marshal.dumps(code.co_code + repr(code.co_consts).encode()).hex()


def _module_file(obj: Any) -> Path | None:
    module = sys.modules.get(getattr(obj, "__module__", "") or "")
    file = getattr(module, "__file__", None)
    return Path(file).resolve() if file else None


def _is_local(obj: Any, roots: tuple[Path, ...]) -> bool:
    file = _module_file(obj)
    if file is None:
        return False
    if "site-packages" in file.parts or "dist-packages" in file.parts:
        return False
    return any(file.is_relative_to(root) for root in roots)


def _unwrap(obj: Any) -> Any:
    fn = getattr(obj, "fn", None)  # a Step or a Pipeline
    return fn if callable(fn) and hasattr(fn, "__code__") else obj


def _referenced(fn: Any) -> list[Any]:
    code = getattr(fn, "__code__", None)
    globs = getattr(fn, "__globals__", {})
    if code is None:
        return []
    names: set[str] = set()
    stack = [code]
    while stack:
        c = stack.pop()
        names.update(c.co_names)
        stack.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    out = []
    for name in sorted(names):
        value = globs.get(name)
        if isinstance(value, types.FunctionType | type) or hasattr(value, "fn"):
            out.append(_unwrap(value))
    return out


def code_parts(fn: Callable[..., Any], roots: tuple[Path, ...]) -> dict[str, str]:
    """qualified name -> hash of the normalised source, for ``fn`` and local callees."""
    parts: dict[str, str] = {}
    seen: set[int] = set()

    def visit(obj: Any, depth: int) -> None:
        if id(obj) in seen or depth > _MAX_DEPTH:
            return
        seen.add(id(obj))
        name = f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"
        parts[name if depth else "<step>"] = _digest(_normalised(obj).encode())
        for ref in _referenced(obj):
            if _is_local(ref, roots):
                visit(ref, depth + 1)

    visit(fn, 0)
    return parts


@functools.cache
def _version_of(top: str) -> str | None:
    module = sys.modules.get(top)
    version = getattr(module, "__version__", None)
    if isinstance(version, str):
        return version
    from importlib import metadata

    try:
        return metadata.version(top)
    except (metadata.PackageNotFoundError, ValueError):
        return None


def env_parts(fn: Callable[..., Any], roots: tuple[Path, ...]) -> dict[str, str]:
    """loopml's version and the versions of third-party packages the step's module uses."""
    globs = getattr(fn, "__globals__", {})
    tops: set[str] = set()
    for value in globs.values():
        if isinstance(value, types.ModuleType):
            mod = value.__name__
        elif isinstance(value, type | types.FunctionType | types.BuiltinFunctionType):
            mod = getattr(value, "__module__", None) or ""
        else:
            continue
        top = mod.split(".", 1)[0]
        if top and top not in sys.stdlib_module_names and not top.startswith("_"):
            tops.add(top)
    versions = {"loopml": __version__}
    for top in sorted(tops - {"loopml", "builtins"}):
        module = sys.modules.get(top)
        if module is not None and _is_local(module, roots):
            continue
        version = _version_of(top)
        if version is not None:
            versions[top] = version
    return versions


def params_parts(literals: Mapping[str, Any]) -> dict[str, str]:
    """argument -> canonical JSON of its value (repr for values JSON cannot hold)."""
    out: dict[str, str] = {}
    for key in sorted(literals):
        value = literals[key]
        try:
            out[key] = _canonical(value).decode()
        except TypeError:
            out[key] = f"{type(value).__module__}.{type(value).__qualname__}:{value!r}"
    return out


def make_key(
    code: dict[str, str],
    params: dict[str, str],
    inputs: dict[str, str],
    env: dict[str, str],
) -> tuple[str, KeyParts]:
    parts: KeyParts = {
        name: {"hash": _digest(_canonical(detail)), "detail": detail}
        for name, detail in (("code", code), ("params", params), ("inputs", inputs), ("env", env))
    }
    key = _digest(_canonical({name: part["hash"] for name, part in parts.items()}))
    return key, parts
