"""Every lazily exported name stays what it says, even after all submodules are imported.

A submodule named like a function (``data/checkout.py`` next to ``data.checkout()``) would
replace the function on its package once anything imported the module.
"""

from __future__ import annotations

import importlib
import pkgutil
import types

import pytest

PACKAGES = [
    "loopml",
    "loopml.data",
    "loopml.models",
    "loopml.registry",
    "loopml.pipeline",
    "loopml.ct",
    "loopml.monitoring",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_lazy_names_are_not_shadowed_by_submodules(name: str) -> None:
    package = importlib.import_module(name)
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{name}."):
        if ".templates" in info.name or ".migrations" in info.name:
            continue
        importlib.import_module(info.name)
    lazy = getattr(package, "_LAZY", {})
    for exported in lazy:
        value = getattr(package, exported)
        if (name, exported) == ("loopml", "pipeline"):  # the package is callable as @pipeline
            assert callable(value), "loopml.pipeline must work as the @pipeline decorator"
            continue
        assert not isinstance(value, types.ModuleType), f"{name}.{exported} is a module"
