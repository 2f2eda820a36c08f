"""The interface to dataset records: the SQL store implements it, and so will the REST client.

Only records live here; the bytes are objects in the object store, named by the manifest hash.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from loopml.store.metadata.data_entities import DatasetSummary, DatasetVersion, RunInput

__all__ = ["DatasetStore", "NewVersion"]

NewVersion = dict[str, Any]  # DatasetVersion fields except name, version and created_ms


class DatasetStore(ABC):
    @abstractmethod
    def create_version(self, name: str, fields: NewVersion) -> tuple[DatasetVersion, bool]:
        """Record the next version of ``name``; ``(version, created)``.

        If the latest version already has ``fields["manifest_hash"]``, that version is returned
        with ``created=False``: adding identical content makes no new version. Version numbers
        are assigned inside the write transaction, so concurrent adds never share one.
        """

    @abstractmethod
    def get_version(self, name: str, version: int | None = None) -> DatasetVersion:
        """A version, or the latest one when ``version`` is None; ``RESOURCE_NOT_FOUND`` if absent."""

    @abstractmethod
    def list_versions(self, name: str) -> list[DatasetVersion]:
        """Every version of ``name``, newest first; ``RESOURCE_NOT_FOUND`` for an unknown name."""

    @abstractmethod
    def list_datasets(self) -> list[DatasetSummary]: ...

    @abstractmethod
    def set_profile(self, name: str, version: int, profile: dict[str, Any] | None) -> None:
        """Store (or clear) the profile of a version: the one mutable field of a version."""

    @abstractmethod
    def log_input(self, run_id: str, name: str, version: int, context: str) -> RunInput: ...

    @abstractmethod
    def inputs_of_run(self, run_id: str) -> list[RunInput]: ...

    @abstractmethod
    def runs_of_version(self, name: str, version: int) -> list[RunInput]: ...
