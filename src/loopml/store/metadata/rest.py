"""The metadata store over HTTP: the same interface as the SQL store, talking to ``/api/v1``.

The SDK cannot tell it from :class:`SqlMetadataStore`: errors come back as the same typed
``LoopmlError``s, and metric batches are exactly-once (each carries an idempotency key that
every retry of it repeats, and the server stores a key's points once).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from loopml.errors import StoreUnavailableError
from loopml.store.metadata._http import HttpClient
from loopml.store.metadata.base import MetadataStore, MetricPoint
from loopml.store.metadata.entities import (
    ArtifactRecord,
    Experiment,
    Metric,
    Run,
    RunList,
    RunStatus,
)
from loopml.store.metadata.wire import (
    artifact_in,
    experiment_in,
    float_out,
    metric_in,
    run_in,
)

API = "/api/v1"
BATCH_POINTS = 100_000  # per request: ~6 MB of JSON, well under the server's body limit


def is_server_url(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


def _seg(value: str) -> str:
    return quote(value, safe="")


def _point(p: MetricPoint) -> list[Any]:
    value = p[2]
    return [p[0], p[1], value if math.isfinite(value) else _special(value), p[3], p[4]]


def _special(value: float) -> Any:
    return None if math.isnan(value) else float_out(value)


class RestMetadataStore(MetadataStore):
    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.http = HttpClient(self.url, token)
        # batches of a log_metrics call that failed: (start, end, first, last point, key)
        self._unacked: list[tuple[int, int, MetricPoint, MetricPoint, str]] = []

    def close(self) -> None:
        self.http.close()

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.http.json(method, API + path, **kwargs)

    # -- experiments ------------------------------------------------------------------------
    def create_experiment(self, name: str, tags: Mapping[str, str] | None = None) -> Experiment:
        body = {"name": name, "tags": dict(tags or {})}
        return experiment_in(self._json("POST", "/experiments", json=body))

    def get_experiment(self, experiment_id: str) -> Experiment:
        return experiment_in(self._json("GET", f"/experiments/{_seg(experiment_id)}"))

    def get_experiment_by_name(self, name: str) -> Experiment:
        return experiment_in(self._json("GET", "/experiments/by-name", params={"name": name}))

    def list_experiments(self, include_deleted: bool = False) -> list[Experiment]:
        params = {"include_deleted": "true" if include_deleted else "false"}
        body = self._json("GET", "/experiments", params=params)
        return [experiment_in(e) for e in body["experiments"]]

    def rename_experiment(self, experiment_id: str, new_name: str) -> Experiment:
        path = f"/experiments/{_seg(experiment_id)}"
        return experiment_in(self._json("PATCH", path, json={"name": new_name}))

    def delete_experiment(self, experiment_id: str) -> None:
        self._json("DELETE", f"/experiments/{_seg(experiment_id)}")

    def restore_experiment(self, experiment_id: str) -> None:
        self._json("POST", f"/experiments/{_seg(experiment_id)}/restore", idempotent=True)

    # -- runs -------------------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        *,
        run_name: str | None = None,
        start_ms: int | None = None,
        parent_run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        user: str | None = None,
    ) -> Run:
        body = {
            "experiment_id": experiment_id,
            "run_name": run_name,
            "start_ms": start_ms,
            "parent_run_id": parent_run_id,
            "tags": dict(tags or {}),
            "user": user,
        }
        return run_in(self._json("POST", "/runs", json=body))

    def get_run(self, run_id: str) -> Run:
        return run_in(self._json("GET", f"/runs/{_seg(run_id)}"))

    def update_run(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        end_ms: int | None = None,
        status_message: str | None = None,
        run_name: str | None = None,
    ) -> Run:
        body = {
            "status": None if status is None else RunStatus(status).value,
            "end_ms": end_ms,
            "status_message": status_message,
            "run_name": run_name,
        }
        return run_in(self._json("PATCH", f"/runs/{_seg(run_id)}", json=body, idempotent=True))

    def delete_run(self, run_id: str) -> None:
        self._json("DELETE", f"/runs/{_seg(run_id)}")

    def restore_run(self, run_id: str) -> None:
        self._json("POST", f"/runs/{_seg(run_id)}/restore", idempotent=True)

    def log_params(self, run_id: str, params: Mapping[str, str]) -> None:
        if params:
            body = {"params": dict(params)}
            self._json("POST", f"/runs/{_seg(run_id)}/params", json=body, idempotent=True)

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        if tags:
            body = {"tags": dict(tags)}
            self._json("POST", f"/runs/{_seg(run_id)}/tags", json=body, idempotent=True)

    def delete_tag(self, run_id: str, key: str) -> None:
        self._json("DELETE", f"/runs/{_seg(run_id)}/tags", params={"key": key})

    def log_metrics(self, points: Sequence[MetricPoint]) -> None:
        """Send ``points`` in batches, each under its own idempotency key.

        If the server cannot be reached even after retries, the keys of this call are kept:
        the metric buffer re-sends the same points (the same objects, then more) on its next
        flush, and those batches reuse their keys, so whatever the server did store of the
        failed call is not stored twice.
        """
        plan = self._plan(points)
        try:
            for start, end, key in plan:
                self.log_metric_batch(points[start:end], key)
        except StoreUnavailableError:
            self._unacked = [(s, e, points[s], points[e - 1], k) for s, e, k in plan]
            raise
        self._unacked = []

    def _plan(self, points: Sequence[MetricPoint]) -> list[tuple[int, int, str]]:
        plan: list[tuple[int, int, str]] = []
        pos = 0
        for start, end, first, last, key in self._unacked:
            if start != pos or end > len(points):
                break
            if points[start] is not first or points[end - 1] is not last:
                break
            plan.append((start, end, key))
            pos = end
        for start in range(pos, len(points), BATCH_POINTS):
            plan.append((start, min(len(points), start + BATCH_POINTS), uuid.uuid4().hex))
        return plan

    def log_metric_batch(self, points: Sequence[MetricPoint], key: str) -> bool:
        """Send one batch under ``key``; False if the server had already stored it."""
        body = {"points": [_point(p) for p in points]}
        answer = self._json(
            "POST", "/metrics", json=body, headers={"idempotency-key": key}, idempotent=True
        )
        return not answer["duplicate"]

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        path = f"/runs/{_seg(run_id)}/metrics/history"
        body = self._json("GET", path, params={"key": key})
        return [metric_in(m) for m in body["metrics"]]

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
        include_deleted: bool = False,
    ) -> RunList:
        body = {
            "experiment_ids": list(experiment_ids),
            "filter": filter,
            "order_by": None if order_by is None else list(order_by),
            "max_results": max_results,
            "page_token": page_token,
            "include_deleted": include_deleted,
        }
        answer = self._json("POST", "/runs/search", json=body, idempotent=True)
        result = RunList(run_in(r) for r in answer["runs"])
        result.next_page_token = answer.get("next_page_token")
        return result

    # -- artifacts --------------------------------------------------------------------------
    def record_artifact(
        self, run_id: str, path: str, object_hash: str, size: int, kind: str
    ) -> None:
        body = {"path": path, "object_hash": object_hash, "size": size, "kind": kind}
        self._json("POST", f"/runs/{_seg(run_id)}/artifacts", json=body, idempotent=True)

    def list_artifacts(self, run_id: str, prefix: str = "") -> list[ArtifactRecord]:
        params = {"prefix": prefix} if prefix else None
        body = self._json("GET", f"/runs/{_seg(run_id)}/artifacts", params=params)
        return [artifact_in(a) for a in body["artifacts"]]

    # -- housekeeping -----------------------------------------------------------------------
    def referenced_objects(self) -> tuple[set[str], set[str]]:
        body = self._json("GET", "/admin/references")
        return set(body["live"]), set(body["manifests"])

    def purge_deleted(self, older_than_ms: int) -> int:
        body = self._json("POST", "/admin/purge", json={"older_than_ms": older_than_ms})
        return int(body["runs"])

    def server_info(self) -> dict[str, Any]:
        info: dict[str, Any] = self._json("GET", "/server-info")
        return info
