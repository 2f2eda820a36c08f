"""The Python examples in docs/ run, in order, in a fresh project: docs never lie."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
PAGES = ["tracking.md", "errors.md"]


@pytest.mark.parametrize("page", PAGES)
def test_python_examples_run(page: str, project: Path) -> None:
    blocks = BLOCK.findall((DOCS / page).read_text())
    assert blocks, f"{page} has no python examples"
    namespace: dict[str, object] = {}
    for code in blocks:
        exec(compile(code, f"{page}", "exec"), namespace)
