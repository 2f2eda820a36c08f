"""The Python examples of docs/pipelines.md run, in order, in a fresh project.

The blocks are written to one module file first: a step's cache key includes its source code,
which Python can only show for functions defined in a file.
"""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[3] / "docs" / "pipelines.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


@pytest.mark.slow
def test_python_examples_run(project: Path) -> None:
    pytest.importorskip("sklearn")
    blocks = BLOCK.findall(DOCS.read_text())
    assert len(blocks) >= 6, "docs/pipelines.md lost its examples"
    module = project / "pipelines_walkthrough.py"
    module.write_text("\n\n".join(blocks))
    runpy.run_path(str(module), run_name="pipelines_walkthrough")
