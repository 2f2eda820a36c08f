"""Behaviour every RegistryStore must have: SQL on SQLite and PostgreSQL, and the REST client
over a real server (whose callers are who the server says, not who the client claims)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from loopml.errors import (
    AlreadyExistsError,
    InvalidParameterError,
    InvalidStateError,
    NotFoundError,
)
from loopml.store.metadata._http import HttpClient
from loopml.store.metadata.registry_base import NewVersion, RegistryStore
from loopml.store.metadata.registry_entities import DatasetLink, RequestStatus, VersionStatus
from loopml.store.metadata.registry_rest import RestRegistryStore
from loopml.store.metadata.registry_sql import SqlRegistryStore
from loopml.store.metadata.sql import SqlMetadataStore

PKG = "a" * 64


@pytest.fixture
def meta(store_url: str) -> Iterator[SqlMetadataStore]:
    s = SqlMetadataStore(store_url)
    yield s
    s.close()


@pytest.fixture(params=["sql", "rest"])
def reg(
    request: pytest.FixtureRequest, meta: SqlMetadataStore, store_url: str, tmp_path: Path
) -> Iterator[RegistryStore]:
    if request.param == "sql":
        yield SqlRegistryStore(meta.engine)
        return
    if not store_url.startswith("sqlite"):
        pytest.skip("the REST client runs once, against a server on SQLite")
    from loopml.server import ServerConfig
    from loopml.server.run import serve_in_thread

    with serve_in_thread(ServerConfig(store_url, str(tmp_path / "objects"))) as url:
        http = HttpClient(url)
        yield RestRegistryStore(http)
        http.close()


def who(reg: RegistryStore, name: str) -> str:
    """The actor a store records: a server records its caller (anonymous without auth)."""
    return "anonymous" if reg.enforces_policy else name


def _new(package: str = PKG, **kw: object) -> NewVersion:
    return NewVersion(source_uri="runs:/r1/model", package_hash=package, **kw)  # type: ignore[arg-type]


def test_model_lifecycle(reg: RegistryStore) -> None:
    m = reg.create_registered_model(
        "churn", description="who leaves", tags={"team": "growth"}, actor="ana"
    )
    assert (m.name, m.owner, m.tags, m.latest_version) == (
        "churn",
        who(reg, "ana"),
        {"team": "growth"},
        None,
    )
    with pytest.raises(AlreadyExistsError, match="already exists"):
        reg.create_registered_model("churn")
    with pytest.raises(InvalidParameterError, match="not a valid model name"):
        reg.create_registered_model("bad name/x")
    assert reg.update_registered_model("churn", description="v2").description == "v2"
    reg.set_registered_model_tags("churn", {"tier": "1"})
    assert reg.get_registered_model("churn").tags == {"team": "growth", "tier": "1"}
    with pytest.raises(NotFoundError, match="loopml models list"):
        reg.get_registered_model("nope")


def test_versions_number_from_one_and_keep_their_snapshot(reg: RegistryStore) -> None:
    v1 = reg.create_model_version(
        "churn",
        _new(
            run_id="r1",
            flavor="sklearn",
            signature={"inputs": [{"name": "x", "type": "double"}]},
            metrics={"auc": 0.91},
            params={"depth": "4"},
            datasets=[DatasetLink("data:/customers/3", "b" * 64, "training")],
            tags={"stage": "dev"},
            description="first",
        ),
        actor="ana",
    )
    v2 = reg.create_model_version("churn", _new("c" * 64))
    assert (v1.version, v2.version) == (1, 2)
    assert reg.get_model_version("churn", 1) == v1
    got = reg.get_model_version("churn", 1)
    assert got.flavor == "sklearn" and got.status is VersionStatus.READY
    assert got.signature == {"inputs": [{"name": "x", "type": "double"}]}
    assert (got.metrics, got.params, got.tags) == ({"auc": 0.91}, {"depth": "4"}, {"stage": "dev"})
    assert got.datasets == [DatasetLink("data:/customers/3", "b" * 64, "training")]
    assert got.user == who(reg, "ana") and got.uri == "models:/churn/1"
    assert [v.version for v in reg.list_model_versions("churn")] == [2, 1]
    assert reg.get_registered_model("churn").latest_version == 2
    assert [v.version for v in reg.find_versions_by_package(PKG)] == [1]
    with pytest.raises(NotFoundError, match="has no version 9"):
        reg.get_model_version("churn", 9)
    with pytest.raises(NotFoundError, match="no registered model"):
        reg.get_model_version("nope", 1)


def test_concurrent_registrations_get_distinct_numbers(reg: RegistryStore) -> None:
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(5):
                reg.create_model_version("race", _new())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(v.version for v in reg.list_model_versions("race")) == list(range(1, 31))


def test_aliases_move_atomically_and_only_to_ready_versions(reg: RegistryStore) -> None:
    for _ in range(3):
        reg.create_model_version("churn", _new())
    reg.set_alias("churn", "champion", 1, actor="ana")
    reg.set_alias("churn", "champion", 2, actor="ana", reason="better auc")
    assert reg.get_version_by_alias("churn", "champion").version == 2
    assert reg.get_registered_model("churn").aliases == {"champion": 2}
    assert reg.get_model_version("churn", 2).aliases == ["champion"]
    with pytest.raises(NotFoundError, match="no version 7"):
        reg.set_alias("churn", "champion", 7)
    with pytest.raises(InvalidParameterError, match="reserved"):
        reg.set_alias("churn", "latest", 1)
    with pytest.raises(InvalidStateError, match="holds alias"):
        reg.update_model_version("churn", 2, status=VersionStatus.ARCHIVED)
    reg.update_model_version("churn", 3, status=VersionStatus.ARCHIVED)
    with pytest.raises(InvalidStateError, match="only a READY version"):
        reg.set_alias("churn", "challenger", 3)
    with pytest.raises(NotFoundError, match="no alias 'gone'"):
        reg.get_version_by_alias("churn", "gone")
    reg.delete_alias("churn", "champion")
    assert reg.get_registered_model("churn").aliases == {}
    moves = [e for e in reg.list_events("churn") if e.action == "alias.set"]
    assert [(e.version, e.reason, e.detail["previous_version"]) for e in moves] == [
        (1, None, None),
        (2, "better auc", 1),
    ]


def test_version_status_and_tags(reg: RegistryStore) -> None:
    reg.create_model_version("churn", _new())
    reg.update_model_version("churn", 1, status=VersionStatus.DELETED)
    assert reg.list_model_versions("churn") == []
    assert [v.status for v in reg.list_model_versions("churn", include_deleted=True)] == [
        VersionStatus.DELETED
    ]
    reg.update_model_version("churn", 1, status=VersionStatus.READY, description="back")
    reg.set_model_version_tags("churn", 1, {"a": "1"})
    reg.set_model_version_tags("churn", 1, {"a": "2"})
    assert reg.get_model_version("churn", 1).tags == {"a": "2"}
    reg.delete_model_version_tag("churn", 1, "a")
    with pytest.raises(NotFoundError):
        reg.delete_model_version_tag("churn", 1, "a")


def test_search_uses_the_filter_language(reg: RegistryStore) -> None:
    reg.create_registered_model("churn-a", tags={"team": "growth"})
    reg.create_registered_model("churn-b", tags={"team": "risk"})
    reg.create_registered_model("fraud", tags={"team": "growth"})
    names = lambda f: [m.name for m in reg.search_registered_models(f)]  # noqa: E731
    assert names(None) == ["churn-a", "churn-b", "fraud"]
    assert names("tags.team = 'growth'") == ["churn-a", "fraud"]
    assert names("name LIKE 'churn%'") == ["churn-a", "churn-b"]
    assert names("name LIKE 'churn%' AND tags.team != 'growth'") == ["churn-b"]
    assert names("NOT tags.team IN ('growth', 'risk')") == []
    with pytest.raises(InvalidParameterError, match=r"unknown name 'metrics\.auc'"):
        reg.search_registered_models("metrics.auc > 1")
    with pytest.raises(InvalidParameterError, match="position"):
        reg.search_registered_models("name = ")


def test_promotion_requests_and_history(reg: RegistryStore) -> None:
    reg.create_model_version("churn", _new())
    reg.create_model_version("churn", _new())
    bob = who(reg, "bob")
    policy = reg.set_policy("churn", "champion", [bob, bob], actor="admin")
    assert policy.approvers == [bob]
    assert [p.alias for p in reg.list_policies("churn")] == ["champion"]
    req = reg.create_promotion_request("churn", 1, "champion", actor="ana", reason="ready")
    again = reg.create_promotion_request("churn", 1, "champion", actor="ana")
    assert again.request_id == req.request_id and req.status is RequestStatus.PENDING
    done = reg.decide_promotion_request(req.request_id, approve=True, actor="bob", reason="ok")
    assert (done.status, done.decided_by, done.decision_reason) == (
        RequestStatus.APPROVED,
        bob,
        "ok",
    )
    assert reg.get_version_by_alias("churn", "champion").version == 1
    with pytest.raises(InvalidStateError, match="already APPROVED"):
        reg.decide_promotion_request(req.request_id, approve=False, actor="bob", reason="no")
    with pytest.raises(InvalidParameterError, match="needs a reason"):
        reg.decide_promotion_request(req.request_id, approve=False, actor="bob")
    req2 = reg.create_promotion_request("churn", 2, "champion", actor="ana")
    rejected = reg.decide_promotion_request(
        req2.request_id, approve=False, actor="bob", reason="auc too low"
    )
    assert rejected.status is RequestStatus.REJECTED
    assert reg.get_version_by_alias("churn", "champion").version == 1
    assert [r.status for r in reg.list_promotion_requests("churn")] == [
        RequestStatus.APPROVED,
        RequestStatus.REJECTED,
    ]
    assert reg.list_promotion_requests("churn", status=RequestStatus.PENDING) == []
    actions = [e.action for e in reg.list_events("churn")]
    assert actions == [
        "model.create",
        "version.create",
        "version.create",
        "policy.set",
        "promotion.request",
        "promotion.approve",
        "alias.set",
        "promotion.request",
        "promotion.reject",
    ]
    assert [e.action for e in reg.list_events("churn", version=2)] == [
        "version.create",
        "promotion.request",
        "promotion.reject",
    ]
    with pytest.raises(NotFoundError):
        reg.decide_promotion_request("nope", approve=True)
    reg.delete_policy("churn", "champion")
    assert reg.list_policies("churn") == []


def test_decisions_reach_the_audit_log(meta: SqlMetadataStore, reg: RegistryStore) -> None:
    from loopml.store.metadata.audit_sql import SqlAuditLog

    if reg.enforces_policy:
        pytest.skip("a server audits requests itself (tests/integration/test_registry_server.py)")
    reg.create_model_version("churn", _new())
    reg.set_alias("churn", "champion", 1, actor="ana", reason="first")
    records = SqlAuditLog(meta.engine).query(action="registry.")
    assert [(r.actor, r.action, r.target) for r in records] == [
        ("ana", "registry.alias.set", "models:/churn/1")
    ]
    assert records[0].summary["reason"] == "first"


def test_packages_stay_referenced_for_gc(meta: SqlMetadataStore, reg: RegistryStore) -> None:
    reg.create_model_version("churn", _new())
    live, manifests = meta.referenced_objects()
    assert PKG in live and PKG in manifests


def test_deleting_a_model_removes_it_but_keeps_its_history(reg: RegistryStore) -> None:
    reg.create_model_version("churn", _new())
    reg.set_alias("churn", "champion", 1)
    reg.set_policy("churn", "prod")
    reg.delete_registered_model("churn")
    with pytest.raises(NotFoundError):
        reg.get_registered_model("churn")
    assert reg.list_events("churn")[-1].action == "model.delete"
    assert reg.create_model_version("churn", _new()).version == 1


def _register_many(url: str, n: int) -> None:
    meta = SqlMetadataStore(url)
    reg = SqlRegistryStore(meta.engine)
    for _ in range(n):
        reg.create_model_version("race", _new())
    meta.close()


def test_processes_registering_at_once_get_distinct_numbers(store_url: str) -> None:
    import multiprocessing as mp

    SqlMetadataStore(store_url).close()  # migrate once, before the race
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_register_many, args=(store_url, 10)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    meta = SqlMetadataStore(store_url)
    versions = SqlRegistryStore(meta.engine).list_model_versions("race")
    assert sorted(v.version for v in versions) == list(range(1, 31))
    meta.close()
