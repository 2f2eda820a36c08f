"""The Python examples of docs/models.md run, in order, in a fresh project."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[3] / "docs" / "models.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def test_models_doc_examples_run(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("sklearn")
    blocks = BLOCK.findall(DOCS.read_text())
    assert len(blocks) >= 5
    namespace: dict[str, object] = {}
    for code in blocks:
        exec(compile(code, "models.md", "exec"), namespace)
    assert "missing column 'tickets'" in capsys.readouterr().out
