"""What a run records about where it came from: code version, entry point, environment, host.

Git is asked at most once a second per process (a subprocess costs milliseconds, and a sweep
starts many runs); the environment is read once per process.
"""

from __future__ import annotations

import functools
import getpass
import os
import platform
import socket
import subprocess
import sys
import threading
import time
from importlib import metadata as importlib_metadata
from pathlib import Path

import blake3
import orjson

KEY_PACKAGES = (
    "loopml",
    "numpy",
    "pandas",
    "pyarrow",
    "scikit-learn",
    "scipy",
    "torch",
    "tensorflow",
    "xgboost",
    "lightgbm",
    "catboost",
    "onnx",
)

_git_cache: tuple[float, str, dict[str, str]] | None = None
_git_lock = threading.Lock()
_GIT_TTL = 1.0


def _git(cwd: Path, *args: str) -> bytes | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def entry_point() -> Path | None:
    main = sys.modules.get("__main__")
    file = getattr(main, "__file__", None)
    return Path(file).resolve() if file else None


def git_info(start: Path) -> dict[str, str]:
    """Commit, branch, dirty flag and a BLAKE3 of the uncommitted diff of the repo at ``start``."""
    global _git_cache
    key = str(start)
    with _git_lock:
        if _git_cache and _git_cache[1] == key and time.monotonic() - _git_cache[0] < _GIT_TTL:
            return dict(_git_cache[2])
        info: dict[str, str] = {}
        top = _git(start, "rev-parse", "--show-toplevel")
        if top is not None:
            root = Path(top.decode().strip())
            commit = _git(root, "rev-parse", "HEAD")
            if commit:
                info["loopml.git.commit"] = commit.decode().strip()
            branch = _git(root, "rev-parse", "--abbrev-ref", "HEAD")
            if branch:
                info["loopml.git.branch"] = branch.decode().strip()
            status = _git(root, "status", "--porcelain", "--untracked-files=no")
            diff = _git(root, "diff", "HEAD", "--binary") if commit else None
            dirty = bool(status and status.strip())
            info["loopml.git.dirty"] = "true" if dirty else "false"
            if dirty and diff is not None:
                info["loopml.git.diff_hash"] = blake3.blake3(diff).hexdigest()
            info["loopml.git.root"] = str(root)
        _git_cache = (time.monotonic(), key, info)
        return dict(info)


@functools.cache
def environment() -> dict[str, str]:
    versions: dict[str, str] = {}
    for name in KEY_PACKAGES:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            continue
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = os.environ.get("USER", "unknown")
    return {
        "loopml.python.version": platform.python_version(),
        "loopml.python.implementation": platform.python_implementation(),
        "loopml.platform": platform.platform(terse=True),
        "loopml.host": socket.gethostname(),
        "loopml.user": user,
        "loopml.packages": orjson.dumps(versions, option=orjson.OPT_SORT_KEYS).decode(),
    }


def capture() -> dict[str, str]:
    """All provenance tags for a run started now, from this process."""
    tags = dict(environment())
    entry = entry_point()
    start = entry.parent if entry else Path.cwd()
    git = git_info(start)
    tags.update(git)
    if entry is not None:
        root = git.pop("loopml.git.root", None)
        try:
            tags["loopml.source.file"] = str(entry.relative_to(root)) if root else str(entry)
        except ValueError:
            tags["loopml.source.file"] = str(entry)
    tags.pop("loopml.git.root", None)
    return tags
