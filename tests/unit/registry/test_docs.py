"""The Python examples of docs/registry.md run, in order, in a fresh project."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[3] / "docs" / "registry.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def test_registry_doc_examples_run(project: Path) -> None:
    blocks = BLOCK.findall(DOCS.read_text())
    assert len(blocks) >= 4
    namespace: dict[str, object] = {}
    for code in blocks:
        exec(compile(code, "registry.md", "exec"), namespace)
