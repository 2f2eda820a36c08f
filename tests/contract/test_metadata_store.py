"""Behaviour every MetadataStore must have, whatever database is behind it."""

from __future__ import annotations

import math

import pytest

from loopml.errors import (
    AlreadyExistsError,
    InvalidParameterError,
    InvalidStateError,
    NotFoundError,
)
from loopml.store.metadata.base import MetadataStore
from loopml.store.metadata.entities import LifecycleStage, RunStatus

REST_CONTRACT = True  # runs against the REST client too (conftest.py)


def test_experiment_lifecycle(store: MetadataStore) -> None:
    exp = store.create_experiment("churn", tags={"team": "growth"})
    assert store.get_experiment_by_name("churn") == exp
    assert exp.tags == {"team": "growth"}
    with pytest.raises(AlreadyExistsError, match="churn"):
        store.create_experiment("churn")
    renamed = store.rename_experiment(exp.experiment_id, "churn-v2")
    assert renamed.name == "churn-v2"
    store.delete_experiment(exp.experiment_id)
    assert store.list_experiments() == []
    assert store.list_experiments(include_deleted=True)[0].lifecycle_stage is LifecycleStage.DELETED
    with pytest.raises(InvalidStateError, match="deleted"):
        store.create_run(exp.experiment_id)
    store.restore_experiment(exp.experiment_id)
    assert [e.name for e in store.list_experiments()] == ["churn-v2"]


def test_unknown_ids_are_not_found(store: MetadataStore) -> None:
    with pytest.raises(NotFoundError):
        store.get_experiment("nope")
    with pytest.raises(NotFoundError):
        store.get_run("nope")
    with pytest.raises(NotFoundError):
        store.log_params("nope", {"a": "1"})
    with pytest.raises(NotFoundError):
        store.log_metrics([("nope", "loss", 1.0, 0, 1)])
    with pytest.raises(NotFoundError):
        store.create_run("nope")


def test_run_with_params_tags_and_status(store: MetadataStore) -> None:
    exp = store.create_experiment("e")
    run = store.create_run(exp.experiment_id, run_name="first", tags={"k": "v"})
    assert run.status is RunStatus.RUNNING and run.run_name == "first"
    store.log_params(run.run_id, {"lr": "0.1", "depth": "8"})
    store.log_params(run.run_id, {"lr": "0.1"})  # same value again is fine
    with pytest.raises(AlreadyExistsError) as err:
        store.log_params(run.run_id, {"lr": "0.2"})
    assert "'0.1'" in err.value.message and "'0.2'" in err.value.message
    store.set_tags(run.run_id, {"k": "w", "other": "x"})
    store.delete_tag(run.run_id, "other")
    ended = store.update_run(
        run.run_id, status=RunStatus.FAILED, end_ms=run.start_ms + 5, status_message="boom"
    )
    assert ended.status is RunStatus.FAILED and ended.status_message == "boom"
    assert ended.duration_ms == 5
    got = store.get_run(run.run_id)
    assert got.params == {"lr": "0.1", "depth": "8"}
    assert got.tags == {"k": "w"}


def test_nested_runs_record_parent(store: MetadataStore) -> None:
    exp = store.create_experiment("e")
    parent = store.create_run(exp.experiment_id)
    child = store.create_run(exp.experiment_id, parent_run_id=parent.run_id)
    assert store.get_run(child.run_id).parent_run_id == parent.run_id
    with pytest.raises(NotFoundError, match="parent"):
        store.create_run(exp.experiment_id, parent_run_id="missing")


def test_metrics_history_latest_and_special_values(store: MetadataStore) -> None:
    exp = store.create_experiment("e")
    run = store.create_run(exp.experiment_id)
    points = [(run.run_id, "loss", 1.0 / (i + 1), i, 1000 + i) for i in range(100)]
    points += [(run.run_id, "nan", math.nan, 0, 1), (run.run_id, "pinf", math.inf, 0, 1)]
    points += [(run.run_id, "ninf", -math.inf, 0, 1)]
    store.log_metrics(points[50:])
    store.log_metrics(points[:50])  # older steps arriving late do not replace the latest
    got = store.get_run(run.run_id)
    assert got.metrics["loss"] == pytest.approx(0.01)
    assert math.isnan(got.metrics["nan"])
    assert got.metrics["pinf"] == math.inf and got.metrics["ninf"] == -math.inf
    history = store.get_metric_history(run.run_id, "loss")
    assert [m.step for m in history] == list(range(100))
    assert math.isnan(store.get_metric_history(run.run_id, "nan")[0].value)


def test_search_filters_orders_and_pages(store: MetadataStore) -> None:
    exp = store.create_experiment("e")
    ids = []
    for i in range(12):
        run = store.create_run(exp.experiment_id, run_name=f"r{i}", start_ms=1000 + i)
        store.log_params(run.run_id, {"depth": str(i % 3)})
        store.log_metrics([(run.run_id, "loss", i / 10, 0, 1)])
        ids.append(run.run_id)
    found = store.search_runs([exp.experiment_id], "metrics.loss < 0.5 and params.depth = '1'")
    assert sorted(r.run_name for r in found) == ["r1", "r4"]
    ordered = store.search_runs([exp.experiment_id], order_by=["metrics.loss DESC"], max_results=5)
    assert [r.run_name for r in ordered] == ["r11", "r10", "r9", "r8", "r7"]
    assert ordered.next_page_token
    page2 = store.search_runs(
        [exp.experiment_id],
        order_by=["metrics.loss DESC"],
        max_results=5,
        page_token=ordered.next_page_token,
    )
    assert [r.run_name for r in page2] == ["r6", "r5", "r4", "r3", "r2"]
    with pytest.raises(InvalidParameterError):
        store.search_runs([exp.experiment_id], "metrics.loss ~ 1")
    with pytest.raises(InvalidParameterError):
        store.search_runs([exp.experiment_id], page_token="garbage!")
    store.delete_run(ids[1])
    assert "r1" not in {r.run_name for r in store.search_runs([exp.experiment_id])}
    store.restore_run(ids[1])
    assert "r1" in {r.run_name for r in store.search_runs([exp.experiment_id])}


def test_artifacts_records_and_references(store: MetadataStore) -> None:
    exp = store.create_experiment("e")
    run = store.create_run(exp.experiment_id)
    h1, h2 = "a" * 64, "b" * 64
    store.record_artifact(run.run_id, "model/weights.bin", h1, 10, "file")
    store.record_artifact(run.run_id, "data", h2, 20, "dir")
    store.record_artifact(run.run_id, "model/weights.bin", h2, 11, "file")  # replaced
    recs = store.list_artifacts(run.run_id)
    assert [(r.path, r.object_hash) for r in recs] == [("data", h2), ("model/weights.bin", h2)]
    assert [r.path for r in store.list_artifacts(run.run_id, "model")] == ["model/weights.bin"]
    live, manifests = store.referenced_objects()
    assert live == {h2} and manifests == {h2}


def test_purge_deleted_removes_runs_and_their_rows(store: MetadataStore) -> None:
    exp = store.create_experiment("e")
    keep = store.create_run(exp.experiment_id)
    gone = store.create_run(exp.experiment_id)
    store.log_metrics([(gone.run_id, "m", 1.0, 0, 1)])
    store.record_artifact(gone.run_id, "f", "c" * 64, 1, "file")
    store.delete_run(gone.run_id)
    assert store.purge_deleted(older_than_ms=0) == 0  # not old enough yet
    assert store.purge_deleted(older_than_ms=2**62) == 1
    with pytest.raises(NotFoundError):
        store.get_run(gone.run_id)
    assert store.get_run(keep.run_id).run_id == keep.run_id
    assert store.referenced_objects() == (set(), set())
