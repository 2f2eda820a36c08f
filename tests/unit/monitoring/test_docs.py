"""The Python examples of docs/monitoring.md run, in order, in a fresh project."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[3] / "docs" / "monitoring.md"


@pytest.mark.slow
def test_monitoring_doc_examples_run(project: Path) -> None:
    from loopml.monitoring import reference

    reference.clear_cache()
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(), re.DOTALL)
    assert len(blocks) >= 4
    namespace: dict[str, object] = {}
    for code in blocks:
        exec(compile(code, "monitoring.md", "exec"), namespace)
    assert (project / "monitor.html").is_file()
