"""Project templates: what ``loopml init --template`` copies, and what it refuses to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopml.cli.templates import copy_template, template_names
from loopml.errors import AlreadyExistsError, InvalidParameterError

EXPECTED = {
    ".gitignore",
    "README.md",
    "params.yaml",
    "space.yaml",
    "pyproject.toml",
    "pipelines/__init__.py",
    "pipelines/training.py",
    "tests/test_pipeline.py",
}


def test_the_tabular_template_is_listed_and_copied(tmp_path: Path) -> None:
    assert "tabular-classification" in template_names()
    written = copy_template("tabular-classification", tmp_path)
    assert {p.as_posix() for p in written} == EXPECTED
    for rel in EXPECTED:
        assert (tmp_path / rel).is_file(), rel
    assert ".loopml/" in (tmp_path / ".gitignore").read_text()
    assert not (tmp_path / "gitignore").exists()
    assert not list(tmp_path.rglob("*.tmp"))


def test_the_parameters_file_matches_the_pipeline_signature(tmp_path: Path) -> None:
    import yaml

    copy_template("tabular-classification", tmp_path)
    source = (tmp_path / "pipelines" / "training.py").read_text()
    params = yaml.safe_load((tmp_path / "params.yaml").read_text())
    space = yaml.safe_load((tmp_path / "space.yaml").read_text())
    for name in [*params, *space]:
        assert f"    {name}: " in source, f"{name} is not a parameter of training()"


def test_caches_and_byte_code_are_not_copied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loopml.cli import templates

    source = tmp_path / "templates" / "mini"
    (source / "pkg" / "__pycache__").mkdir(parents=True)
    (source / "pkg" / "__pycache__" / "m.cpython-311.pyc").write_bytes(b"x")
    (source / "pkg" / "m.py").write_text("X = 1\n")
    (source / ".loopml").mkdir()
    (source / ".loopml" / "loopml.db").write_text("")
    monkeypatch.setattr(templates, "TEMPLATES_DIR", tmp_path / "templates")
    assert [p.as_posix() for p in copy_template("mini", tmp_path / "out")] == ["pkg/m.py"]


def test_a_clash_writes_nothing_and_an_unknown_name_lists_the_choices(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text("mine: 1\n")
    with pytest.raises(AlreadyExistsError, match=r"params\.yaml.*nothing was written"):
        copy_template("tabular-classification", tmp_path)
    assert (tmp_path / "params.yaml").read_text() == "mine: 1\n"
    assert not (tmp_path / "pipelines").exists()
    with pytest.raises(InvalidParameterError, match="available: tabular-classification"):
        copy_template("image-segmentation", tmp_path)
