"""Provenance: which dataset versions a run read, so a model can say which data it saw."""

from __future__ import annotations

from loopml.data import _stores
from loopml.data.versions import resolve
from loopml.errors import InvalidStateError
from loopml.store.metadata.data_entities import DatasetVersion, RunInput

__all__ = ["inputs_of_run", "log_input", "runs_of_version"]


def log_input(
    dataset: str | DatasetVersion, context: str = "training", *, run_id: str | None = None
) -> RunInput:
    """Record that the active run (or ``run_id``) read ``dataset`` (a version or a ``data:/`` URI).

    ``data:/name@latest`` is pinned to the version it resolves to now, so the record stays
    true when newer versions arrive.
    """
    version = resolve(dataset)
    if run_id is None:
        from loopml.tracking import fluent

        active = fluent.active_run()
        if active is None:
            raise InvalidStateError(
                "log_input needs a run: call it inside `with loopml.start_run():` or pass run_id"
            )
        run_id = active.run_id
    return _stores.dataset_store().log_input(run_id, version.name, version.version, context)


def inputs_of_run(run_id: str) -> list[RunInput]:
    """The dataset versions a run recorded as inputs, oldest first."""
    return _stores.dataset_store().inputs_of_run(run_id)


def runs_of_version(dataset: str | DatasetVersion) -> list[RunInput]:
    """The runs that recorded ``dataset`` as an input."""
    version = resolve(dataset)
    return _stores.dataset_store().runs_of_version(version.name, version.version)
