"""errors, uris and config: the base layer every package relies on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from loopml.config import find_project_root, load_settings
from loopml.errors import (
    HTTP_STATUS,
    InvalidParameterError,
    LoopmlError,
    NotFoundError,
    error_from_code,
)
from loopml.uris import DataURI, ModelURI, ObjectURI, RunArtifactURI, parse_uri


def test_every_error_code_has_an_http_status() -> None:
    for cls in LoopmlError.__subclasses__():
        assert cls.code in HTTP_STATUS
    err = error_from_code("RESOURCE_NOT_FOUND", "gone", run_id="x")
    assert isinstance(err, NotFoundError) and err.to_dict()["details"] == {"run_id": "x"}


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("runs:/abc/plots/roc.png", RunArtifactURI("abc", "plots/roc.png")),
        ("runs:/abc/", RunArtifactURI("abc", "")),
        ("models:/churn/3", ModelURI("churn", 3)),
        ("models:/churn@champion", ModelURI("churn", alias="champion")),
        ("data:/customers@latest", DataURI("customers", alias="latest")),
        ("data:/customers/2", DataURI("customers", 2)),
        ("obj:" + "a" * 64, ObjectURI("a" * 64)),
    ],
)
def test_uris_parse_and_print(text: str, parsed: object) -> None:
    assert parse_uri(text) == parsed
    assert str(parse_uri(text)) == text


@pytest.mark.parametrize(
    "bad", ["s3://x", "models:/churn", "models:/churn/x", "obj:xyz", "runs:/", "data:/a b/1"]
)
def test_bad_uris_name_the_accepted_forms(bad: str) -> None:
    with pytest.raises(InvalidParameterError, match="Accepted forms"):
        parse_uri(bad)


def test_project_root_is_found_upward(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "loopml.toml").write_text("[loopml]\nflush_interval = 0.5\n")
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    assert find_project_root(sub) == tmp_path.resolve()
    settings = load_settings(root=sub)
    assert settings.flush_interval == 0.5
    assert settings.db_url == f"sqlite:///{tmp_path.resolve() / '.loopml' / 'loopml.db'}"
    monkeypatch.setenv("LOOPML_DB_URL", "sqlite:////tmp/env.db")
    assert load_settings(root=sub).db_url == "sqlite:////tmp/env.db"
    assert load_settings(root=sub, db_url="sqlite:////tmp/arg.db").db_url == "sqlite:////tmp/arg.db"


def test_broken_project_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "loopml.toml").write_text("[loopml\n")
    with pytest.raises(InvalidParameterError, match="not valid TOML"):
        load_settings(root=tmp_path)


def test_import_loopml_stays_light() -> None:
    code = (
        "import sys, loopml; heavy = [m for m in ('sqlalchemy', 'pandas', 'numpy', 'sklearn', "
        "'pyarrow', 'alembic') if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_relative_paths_in_the_project_file_are_relative_to_the_project(tmp_path: Path) -> None:
    (tmp_path / "loopml.toml").write_text(
        '[loopml]\ndb_url = "sqlite:///state/x.db"\nobject_store = "state/objects"\n'
    )
    sub = tmp_path / "sub"
    sub.mkdir()
    settings = load_settings(root=sub)
    assert settings.db_url == f"sqlite:///{tmp_path.resolve() / 'state' / 'x.db'}"
    assert settings.object_store == str(tmp_path.resolve() / "state" / "objects")
