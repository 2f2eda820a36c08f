"""The one interface to metadata: the SQL store implements it, and so will the REST client.

The SDK holds a :class:`MetadataStore` and never knows which implementation it has, so every
method takes and returns plain records (``entities``) and raises only ``LoopmlError``s.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence

from loopml.store.metadata.entities import (
    ArtifactRecord,
    Experiment,
    Metric,
    Run,
    RunList,
    RunStatus,
)

# (run_id, key, value, step, timestamp_ms): the unit the metric buffer flushes.
MetricPoint = tuple[str, str, float, int, int]


class MetadataStore(ABC):
    # -- experiments ------------------------------------------------------------------------
    @abstractmethod
    def create_experiment(self, name: str, tags: Mapping[str, str] | None = None) -> Experiment:
        """Create an experiment; ``ALREADY_EXISTS`` if the name is taken (even by a deleted one)."""

    @abstractmethod
    def get_experiment(self, experiment_id: str) -> Experiment: ...

    @abstractmethod
    def get_experiment_by_name(self, name: str) -> Experiment: ...

    @abstractmethod
    def list_experiments(self, include_deleted: bool = False) -> list[Experiment]: ...

    @abstractmethod
    def rename_experiment(self, experiment_id: str, new_name: str) -> Experiment: ...

    @abstractmethod
    def delete_experiment(self, experiment_id: str) -> None:
        """Soft delete: the experiment and its runs stay restorable until ``gc``."""

    @abstractmethod
    def restore_experiment(self, experiment_id: str) -> None: ...

    # -- runs -------------------------------------------------------------------------------
    @abstractmethod
    def create_run(
        self,
        experiment_id: str,
        *,
        run_name: str | None = None,
        start_ms: int | None = None,
        parent_run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        user: str | None = None,
    ) -> Run: ...

    @abstractmethod
    def get_run(self, run_id: str) -> Run: ...

    @abstractmethod
    def update_run(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        end_ms: int | None = None,
        status_message: str | None = None,
        run_name: str | None = None,
    ) -> Run: ...

    @abstractmethod
    def delete_run(self, run_id: str) -> None: ...

    @abstractmethod
    def restore_run(self, run_id: str) -> None: ...

    @abstractmethod
    def log_params(self, run_id: str, params: Mapping[str, str]) -> None:
        """Params are immutable: the same value again is fine, a different one ``ALREADY_EXISTS``."""

    @abstractmethod
    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None: ...

    @abstractmethod
    def delete_tag(self, run_id: str, key: str) -> None: ...

    @abstractmethod
    def log_metrics(self, points: Sequence[MetricPoint]) -> None:
        """Write points of one or many runs in one transaction and update the latest values."""

    def end_run(
        self,
        run_id: str,
        status: RunStatus,
        end_ms: int,
        message: str | None = None,
        points: Sequence[MetricPoint] = (),
    ) -> None:
        """Write the run's last queued points, then its final status (one call where possible)."""
        self.log_metrics(points)
        self.update_run(run_id, status=status, end_ms=end_ms, status_message=message)

    @abstractmethod
    def get_metric_history(self, run_id: str, key: str) -> list[Metric]: ...

    @abstractmethod
    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
        include_deleted: bool = False,
    ) -> RunList: ...

    # -- artifacts (records only; bytes live in the object store) ---------------------------
    @abstractmethod
    def record_artifact(
        self, run_id: str, path: str, object_hash: str, size: int, kind: str
    ) -> None:
        """Record (or replace) the artifact at ``path`` of a run."""

    @abstractmethod
    def list_artifacts(self, run_id: str, prefix: str = "") -> list[ArtifactRecord]: ...

    # -- housekeeping -----------------------------------------------------------------------
    @abstractmethod
    def referenced_objects(self) -> tuple[set[str], set[str]]:
        """Object hashes that records pin: (all referenced, those that are directory manifests)."""

    @abstractmethod
    def purge_deleted(self, older_than_ms: int) -> int:
        """Remove runs and experiments soft-deleted before ``older_than_ms``; returns runs removed."""

    @abstractmethod
    def close(self) -> None:
        """Release connections; the store is unusable afterwards."""
