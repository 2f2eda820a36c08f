"""Registering logged packages, resolving models:/ URIs and moving aliases through the SDK."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

import loopml
from loopml import registry
from loopml.errors import (
    InvalidParameterError,
    InvalidStateError,
    NotFoundError,
    PermissionDeniedError,
)
from loopml.registry.resolve import resolve_package_hash
from tests.unit.registry.conftest import SIGNATURE

MakePackage = Callable[..., str]


def test_register_links_the_version_to_its_run(make_package: MakePackage) -> None:
    uri = make_package(tags={"loopml.input.training": "data:/customers/3"})
    mv = registry.register_model(uri, "churn", description="rf", tags={"stage": "dev"})
    run_id = uri.split("/")[1]
    assert (mv.name, mv.version, mv.run_id, mv.source_uri) == ("churn", 1, run_id, uri)
    assert mv.flavor == "sklearn" and mv.signature == SIGNATURE
    assert mv.metrics == {"auc": 0.9} and mv.params == {"depth": "4", "n_estimators": "100"}
    assert [(d.uri, d.context) for d in mv.datasets] == [("data:/customers/3", "training")]
    record = loopml.TrackingClient().list_artifacts(run_id)[0]
    assert mv.package_hash == record.object_hash
    assert registry.register_model(make_package(auc=0.95), "churn").version == 2
    assert registry.get_registered_model("churn").latest_version == 2


def test_resolving_model_uris(make_package: MakePackage) -> None:
    v1 = registry.register_model(make_package(), "churn")
    v2 = registry.register_model(make_package(auc=0.95), "churn")
    registry.set_alias("churn", "challenger", 1)
    assert registry.get_model_version("models:/churn@challenger") == registry.get_model_version(
        "churn", 1
    )
    assert resolve_package_hash("models:/churn/2") == v2.package_hash
    assert resolve_package_hash("models:/churn@challenger") == v1.package_hash
    assert resolve_package_hash("models:/churn@latest") == v2.package_hash
    registry.delete_model_version("churn", 2)
    assert resolve_package_hash("models:/churn@latest") == v1.package_hash
    with pytest.raises(InvalidStateError, match="restore"):
        resolve_package_hash("models:/churn/2")
    with pytest.raises(InvalidParameterError, match="not a model URI"):
        resolve_package_hash("runs:/abc/model")


@pytest.mark.parametrize(
    ("uri", "error", "match"),
    [
        ("runs:/0123456789abcdef0123456789abcdef/model", NotFoundError, "log_model"),
        ("runs:/{run}", InvalidParameterError, "names a run, not a model"),
        ("runs:/{run}/nothere", NotFoundError, "loopml artifacts ls"),
        ("runs:/{run}/notes.txt", InvalidParameterError, "not a model package"),
        ("models:/churn/1", InvalidParameterError, "already registered"),
        ("s3://bucket/model", InvalidParameterError, "Accepted forms"),
    ],
)
def test_registering_what_is_not_a_package_says_what_to_do(
    make_package: MakePackage, uri: str, error: type[Exception], match: str
) -> None:
    run_id = make_package().split("/")[1]
    loopml.TrackingClient().log_bytes(run_id, b"hi", "notes.txt")
    with pytest.raises(error, match=match):
        registry.register_model(uri.format(run=run_id), "churn")


def test_a_folder_without_a_manifest_is_not_a_package(
    make_package: MakePackage, tmp_path: Path
) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "a.txt").write_text("x")
    with loopml.start_run() as run:
        loopml.log_artifacts(folder, "plain")
    with pytest.raises(InvalidParameterError, match=r"loopml-model\.json"):
        registry.register_model(f"runs:/{run.run_id}/plain", "churn")


def test_aliasing_a_missing_version_is_refused(make_package: MakePackage) -> None:
    registry.register_model(make_package(), "churn")
    with pytest.raises(NotFoundError, match="loopml models versions churn"):
        registry.set_alias("churn", "champion", 5)
    with pytest.raises(NotFoundError, match="no registered model"):
        registry.set_alias("fraud", "champion", 1)


def test_protected_alias_needs_approval(
    make_package: MakePackage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOPML_USER", "ana")
    registry.register_model(make_package(), "churn")
    registry.register_model(make_package(auc=0.95), "churn")
    registry.set_approval_policy("churn", "champion")
    with pytest.raises(PermissionDeniedError, match="loopml models approve churn 1"):
        registry.set_alias("churn", "champion", 1)
    pending = registry.promote("churn", 1, "champion", reason="beats baseline")
    assert not pending.moved and pending.request is not None
    with pytest.raises(NotFoundError):
        registry.get_model_version("models:/churn@champion")
    approved = registry.approve_promotion("churn", 1, "champion", reason="reviewed")
    assert approved.decided_by == "ana"
    assert registry.get_model_version("models:/churn@champion").version == 1
    with pytest.raises(InvalidStateError, match="no pending request"):
        registry.approve_promotion("churn", 2, "champion")
    registry.promote("churn", 2, "champion")
    with pytest.raises(InvalidParameterError, match="needs a reason"):
        registry.reject_promotion("churn", 2, "champion", reason=" ")
    assert registry.reject_promotion("churn", 2, "champion", reason="too slow").status == "REJECTED"
    done = registry.promote("churn", 2, "champion", approve=True, reason="hotfix")
    assert done.moved and registry.get_model_version("models:/churn@champion").version == 2
    actions = [e.action for e in registry.model_history("churn")]
    assert actions.count("alias.set") == 2 and "promotion.reject" in actions


def test_named_approvers_only(make_package: MakePackage, monkeypatch: pytest.MonkeyPatch) -> None:
    registry.register_model(make_package(), "churn")
    registry.set_approval_policy("churn", "champion", approvers=["bob"])
    monkeypatch.setenv("LOOPML_USER", "ana")
    with pytest.raises(PermissionDeniedError, match="ask bob"):
        registry.promote("churn", 1, "champion", approve=True)
    registry.promote("churn", 1, "champion")
    monkeypatch.setenv("LOOPML_USER", "bob")
    assert registry.approve_promotion("churn", 1, "champion").status == "APPROVED"
    with pytest.raises(PermissionDeniedError, match="protected"):
        registry.delete_alias("churn", "champion")


def test_unprotected_promote_moves_at_once(make_package: MakePackage) -> None:
    registry.register_model(make_package(), "churn")
    result = registry.promote("churn", 1, "staging")
    assert result.moved and result.request is None


def test_archive_delete_and_search(make_package: MakePackage) -> None:
    registry.register_model(make_package(), "churn")
    registry.set_registered_model_tags("churn", {"team": "growth"})
    registry.register_model(make_package(auc=0.5), "fraud")
    assert [m.name for m in registry.search_models("tags.team = 'growth'")] == ["churn"]
    assert [m.name for m in registry.search_models("name LIKE 'fr%'")] == ["fraud"]
    assert registry.archive_model_version("churn", 1).status == "ARCHIVED"
    assert registry.restore_model_version("churn", 1).status == "READY"
    registry.delete_registered_model("fraud")
    assert [m.name for m in registry.search_models()] == ["churn"]


def test_registering_takes_a_few_milliseconds(make_package: MakePackage) -> None:
    uri = make_package()
    registry.register_model(uri, "warm")  # first use opens the stores
    best = min(_timed(lambda: registry.register_model(uri, "churn")) for _ in range(10))
    assert best < 0.020, f"registering took {best * 1000:.1f} ms"


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def test_public_names_load_lazily() -> None:
    assert loopml.register_model is registry.register_model
    assert loopml.set_alias is registry.set_alias
    assert loopml.get_model_version is registry.get_model_version
    assert loopml.search_models is registry.search_models


def test_versions_keep_the_datasets_their_run_read(project: Path, tmp_path: Path) -> None:
    from loopml import data
    from tests.unit.registry.conftest import log_package

    csv = tmp_path / "customers.csv"
    csv.write_text("a,b\n1,2\n")
    dv = data.add(csv, "customers")
    with loopml.start_run():
        data.log_input(dv.uri, "training")
        uri = log_package(tmp_path / "pk", nested=True)
    # the input belongs to the outer run: the package's run read nothing itself
    assert registry.register_model(uri, "plain").datasets == []
    with loopml.start_run() as run:
        data.log_input(dv.uri, "validation")
    loopml.TrackingClient().log_bytes(run.run_id, b"x", "notes.txt")
    folder = tmp_path / "pkg2"
    folder.mkdir()
    (folder / "loopml-model.json").write_text('{"flavor": "python"}')
    loopml.TrackingClient().log_artifacts(run.run_id, folder, "model")
    mv = registry.register_model(f"runs:/{run.run_id}/model", "churn")
    assert [(d.uri, d.digest, d.context) for d in mv.datasets] == [
        ("data:/customers/1", dv.manifest_hash, "validation")
    ]
    assert registry.get_model_version("churn", 1).datasets == mv.datasets
