"""docs/continuous-training.md runs: its pipeline file is written, then its Python examples run
in order in a fresh project."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[3] / "docs" / "continuous-training.md"


@pytest.mark.slow
def test_continuous_training_doc_examples_run(project: Path) -> None:
    text = DOCS.read_text()
    (pipeline_file,) = re.findall(r"```py\n# pipelines/training.py\n(.*?)```", text, re.DOTALL)
    (project / "pipelines").mkdir()
    (project / "pipelines" / "training.py").write_text(pipeline_file)
    blocks = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    assert len(blocks) == 2
    namespace: dict[str, object] = {}
    for code in blocks:
        exec(compile(code, "continuous-training.md", "exec"), namespace)
