"""The Python examples of docs/tuning.md run, in order, in a fresh project; a block that starts
with ``# file: <path>`` is written to that file (the project's pipeline) instead."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[3] / "docs" / "tuning.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
FILE = re.compile(r"^# file: (\S+)\n")


@pytest.mark.slow
def test_tuning_doc_examples_run(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("sklearn")
    pytest.importorskip("optuna")
    blocks = BLOCK.findall(DOCS.read_text())
    assert len(blocks) >= 6
    namespace: dict[str, object] = {}
    files = 0
    for code in blocks:
        target = FILE.match(code)
        if target:
            path = project / target.group(1)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(code)
            files += 1
            continue
        exec(compile(code, "tuning.md", "exec"), namespace)
    assert files == 1
    out = capsys.readouterr().out
    assert "search space key 'x': 'log: true' needs 'low' > 0, got 0" in out
    assert "models:/cancer/1" in out
    assert "dags/loopml_training.py" in out
    assert "evaluate FINISHED" in out
