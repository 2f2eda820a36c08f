"""The metadata store: one interface, a SQL implementation (SQLite / PostgreSQL)."""

from loopml.store.metadata.base import MetadataStore
from loopml.store.metadata.entities import (
    ArtifactRecord,
    Experiment,
    LifecycleStage,
    Metric,
    Run,
    RunStatus,
)

__all__ = [
    "ArtifactRecord",
    "Experiment",
    "LifecycleStage",
    "MetadataStore",
    "Metric",
    "Run",
    "RunStatus",
]
