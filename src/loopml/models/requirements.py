"""Requirements a package pins: the distributions its flavor needs, at the versions running now.

Only what the model needs to load is pinned (its flavor's library, the modules its pickle
references, loopml), never the whole environment: a serving image then installs in seconds
and a version bump elsewhere in a training environment does not break it.
"""

from __future__ import annotations

import functools
import pickletools
import re
import sys
from collections.abc import Iterable
from importlib import metadata

__all__ = [
    "distributions_for_modules",
    "modules_in_pickle",
    "normalize",
    "pin",
    "requirement_name",
]

_NORMAL = re.compile(r"[-_.]+")
_STRING_OPS = frozenset({"UNICODE", "BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8"})
# Import names that differ from their distribution's name, for the fast path below.
_ALIASES = {
    "sklearn": "scikit-learn",
    "yaml": "pyyaml",
    "PIL": "pillow",
    "cv2": "opencv-python",
    "dateutil": "python-dateutil",
    "google": "protobuf",
}


def normalize(name: str) -> str:
    return _NORMAL.sub("-", name).lower()


def requirement_name(text: str) -> str:
    """The normalized distribution name of a requirement line (``scikit-learn==1.5`` -> ...)."""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return normalize(Requirement(text).name)
    except InvalidRequirement:
        return normalize(re.split(r"[\s<>=!~;\[@]", text.strip(), maxsplit=1)[0])


@functools.cache
def _module_map() -> dict[str, list[str]]:
    return dict(metadata.packages_distributions())


def modules_in_pickle(data: bytes) -> set[str]:
    """Top-level modules a pickle imports when it is loaded (read from its opcodes, not run).

    Protocol 4+ names a global by pushing two strings (module, name), often fetched back from
    the memo, then ``STACK_GLOBAL``: so the memo is followed for strings. Only modules loaded
    in this process count: a pickle made here references nothing it did not import.
    """
    modules: set[str] = set()
    memo: dict[int, str | None] = {}
    recent: list[str | None] = []  # the last two values pushed, None for a non-string
    for opcode, arg, _ in pickletools.genops(data):
        name = opcode.name
        if name in _STRING_OPS:
            recent.append(str(arg))
        elif name == "MEMOIZE":
            memo[len(memo)] = recent[-1] if recent else None
            continue
        elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[int(arg)] = recent[-1] if recent else None  # type: ignore[arg-type]
            continue
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            recent.append(memo.get(int(arg)))  # type: ignore[arg-type]
        elif name == "STACK_GLOBAL":
            if len(recent) >= 2 and recent[-2]:
                modules.add(str(recent[-2]).split(".", 1)[0])
            recent.append(None)
        elif name in ("GLOBAL", "INST") and isinstance(arg, str):
            modules.add(arg.split(" ", 1)[0].split(".", 1)[0])
            recent.append(None)
        else:
            recent.append(None)
        del recent[:-2]
    return {m for m in modules if m in sys.modules}


def distributions_for_modules(modules: Iterable[str]) -> list[str]:
    """The installed distributions providing ``modules`` (standard library ones drop out).

    A module is first looked up as a distribution of its own name (or a well-known alias):
    scanning every installed distribution's file list costs a second on a big environment.
    """
    found: set[str] = set()
    for module in modules:
        if module in sys.stdlib_module_names or module == "__main__":
            continue
        name = _ALIASES.get(module, module)
        try:
            metadata.distribution(name)
        except metadata.PackageNotFoundError:
            found.update(_module_map().get(module, ()))
        else:
            found.add(name)
    return sorted(found)


def pin(distributions: Iterable[str]) -> list[str]:
    """``name==version`` for each installed distribution, plus loopml itself; sorted, unique."""
    pinned: dict[str, str] = {}
    for dist in [*distributions, "loopml"]:
        key = normalize(dist)
        if key in pinned:
            continue
        try:
            pinned[key] = f"{key}=={metadata.version(dist)}"
        except metadata.PackageNotFoundError:
            continue
    return sorted(pinned.values())
