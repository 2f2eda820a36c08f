"""Pipelines written as files in the test's project, loaded by reference as a user would."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from loopml.pipeline.definition import Pipeline
from loopml.pipeline.loader import load_pipeline

HEADER = "from __future__ import annotations\n\nfrom loopml.pipeline import pipeline, step\n"

WritePipeline = Callable[..., Pipeline]


@pytest.fixture
def write_pipeline(project: Path) -> WritePipeline:
    """``write_pipeline(source, name="p", file="pipe.py")``: write, load and return it.

    Rewriting the same file loads the new code (the loader keys modules on mtime)."""
    counter = {"n": 0}

    def write(source: str, name: str = "p", file: str = "pipe.py") -> Pipeline:
        path = project / file
        counter["n"] += 1
        path.write_text(HEADER + textwrap.dedent(source))
        # a rewrite within the same clock tick must still look new
        import os

        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + counter["n"]))
        return load_pipeline(f"{path}:{name}")

    return write


def statuses(run: object) -> dict[str, str]:
    return {name: s.status for name, s in run.steps.items()}  # type: ignore[attr-defined]
