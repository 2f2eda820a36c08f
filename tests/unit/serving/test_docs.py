"""The Python examples in docs/serving.md run, in order, in a fresh project."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[3] / "docs" / "serving.md"


@pytest.mark.slow  # the hot-reload example trains, serves and waits for a switch
def test_serving_doc_examples_run(project: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(), re.DOTALL)
    assert blocks
    namespace: dict[str, object] = {}
    for code in blocks:
        exec(compile(code, "serving.md", "exec"), namespace)
