"""log_model -> load_model through the store: runs:/, obj:, models:/ (via a resolver), cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import loopml
from loopml.errors import (
    CorruptObjectError,
    InvalidParameterError,
    InvalidStateError,
    NotFoundError,
)
from loopml.models import load_model, log_model, register_uri_resolver
from loopml.models import resolve as resolve_mod

np = pytest.importorskip("numpy")
pytest.importorskip("sklearn")


@pytest.fixture
def logged(project: Path, churn: tuple[Any, Any]) -> tuple[Any, Any]:
    from sklearn.tree import DecisionTreeClassifier

    frame, label = churn
    features = frame[["tenure", "spend", "tickets"]]
    model = DecisionTreeClassifier(max_depth=3, random_state=0).fit(features, label)
    with loopml.start_run():
        info = loopml.log_model(model, "model", input_example=features[:5])
    return model, info


def test_log_model_returns_the_package_identity(logged: tuple[Any, Any], project: Path) -> None:
    model, info = logged
    assert info.uri == f"runs:/{info.run_id}/model"
    assert info.flavor == "sklearn" and info.artifact_path == "model"
    assert info.signature is not None and info.signature.inputs.names == [
        "tenure",
        "spend",
        "tickets",
    ]
    assert len(info.package_hash) == 64
    loaded = load_model(info.uri)
    assert loaded.package_hash == info.package_hash
    assert (
        project / ".loopml" / "cache" / "models" / info.package_hash / "loopml-model.json"
    ).is_file()
    x = loaded.input_example
    assert (loaded.predict(x) == model.predict(x)).all()
    again = load_model(f"obj:{info.package_hash}")  # from the cache this time
    assert (again.predict(x) == model.predict(x)).all()


def test_logging_the_same_model_twice_gives_the_same_files(
    logged: tuple[Any, Any], project: Path
) -> None:
    model, info = logged
    with loopml.start_run():
        second = log_model(model, "model", input_example=load_model(info.uri).input_example)
    # created_ms differs, so the manifests differ, but the model bytes are stored once
    assert second.manifest.files == info.manifest.files


def test_models_uri_goes_through_the_registered_resolver(
    logged: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, info = logged
    monkeypatch.setattr(resolve_mod, "_RESOLVERS", {})
    seen: list[str] = []

    def fake(uri: str) -> str:
        seen.append(uri)
        return str(info.package_hash)

    register_uri_resolver("models", fake)
    assert load_model("models:/churn@champion").package_hash == info.package_hash
    assert seen == ["models:/churn@champion"]


def test_models_uri_without_a_registry_is_a_clear_error(
    logged: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resolve_mod, "_RESOLVERS", {})
    monkeypatch.setitem(resolve_mod._SCHEME_MODULES, "models", "loopml_no_such_registry")
    with pytest.raises(loopml.LoopmlError, match="registry could not be imported"):
        load_model("models:/churn/1")


def test_log_model_needs_a_run(project: Path) -> None:
    with pytest.raises(InvalidStateError, match="start_run"):
        log_model(object(), "model")


@pytest.mark.parametrize(
    ("uri", "error", "match"),
    [
        ("runs:/nope/model", NotFoundError, "nope"),
        ("models:/churn", InvalidParameterError, "Accepted forms"),
        ("obj:xyz", InvalidParameterError, "Accepted forms"),
        ("no/such/folder", NotFoundError, "no model package"),
    ],
)
def test_bad_uris(project: Path, uri: str, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        load_model(uri)


def test_run_without_that_artifact(logged: tuple[Any, Any]) -> None:
    _, info = logged
    with pytest.raises(NotFoundError, match="no model folder 'other'"):
        load_model(f"runs:/{info.run_id}/other")


def test_folder_without_manifest(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"no loopml-model\.json"):
        load_model(tmp_path)


# -- tampering ------------------------------------------------------------------------------
def test_tampered_local_package_names_the_file(logged: tuple[Any, Any], tmp_path: Path) -> None:
    _, info = logged
    folder = load_model(info.uri).path
    copy = tmp_path / "copy"
    import shutil

    shutil.copytree(folder, copy)
    (copy / "model.pkl").write_bytes(b"not the model")
    with pytest.raises(CorruptObjectError, match=r"'model\.pkl'") as err:
        load_model(copy)
    assert err.value.details["file"] == "model.pkl"
    (copy / "model.pkl").unlink()
    with pytest.raises(CorruptObjectError, match="missing"):
        load_model(copy)


def test_tampered_cache_is_caught(logged: tuple[Any, Any]) -> None:
    _, info = logged
    folder = load_model(info.uri).path
    (folder / "input_example.parquet").write_bytes(b"changed")
    with pytest.raises(CorruptObjectError, match=r"'input_example\.parquet'"):
        load_model(info.uri)


def test_tampered_object_in_the_store_is_caught(logged: tuple[Any, Any], project: Path) -> None:
    _, info = logged
    entry = info.manifest.files["model.pkl"]
    stored = project / ".loopml" / "objects" / "objects" / entry[:2] / entry[2:]
    stored.chmod(0o644)
    stored.write_bytes(b"evil")
    with pytest.raises(CorruptObjectError, match=r"'model\.pkl'"):
        load_model(info.uri)  # nothing cached yet: the download verifies
