"""The Python examples in docs/serving.md run, in order, in a fresh project."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[3] / "docs" / "serving.md"


def test_serving_doc_examples_run(project: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(), re.DOTALL)
    assert blocks
    namespace: dict[str, object] = {}
    for code in blocks:
        exec(compile(code, "serving.md", "exec"), namespace)
