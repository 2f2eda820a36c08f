"""Every test gets its own project folder, database and object store; nothing is shared."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import loopml
from loopml.tracking import context as tracking_context
from loopml.tracking import fluent


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("LOOPML_") and key != "LOOPML_TEST_PG_URL":
            monkeypatch.delenv(key)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh loopml project in ``tmp_path`` (cwd), with the SDK pointed at it."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "loopml.toml").write_text("[loopml]\n")
    monkeypatch.chdir(root)
    loopml.configure(root)
    fluent._experiment = None
    yield root
    while fluent.active_run() is not None:
        fluent.end_run()
    fluent._experiment = None
    if tracking_context._context is not None:
        tracking_context._context.close()
        tracking_context._context = None
