"""The pipeline records beside the process's metadata store (SQL only, for now)."""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING

from loopml.errors import InvalidStateError

if TYPE_CHECKING:
    from loopml.store.metadata.pipeline_base import PipelineStore
    from loopml.tracking.context import Context

_lock = threading.Lock()
_by_metadata: weakref.WeakKeyDictionary[object, PipelineStore] = weakref.WeakKeyDictionary()


def context() -> Context:
    from loopml.tracking.context import get_context

    return get_context()


def pipeline_store(ctx: Context | None = None) -> PipelineStore:
    meta = (ctx or context()).metadata
    with _lock:
        found = _by_metadata.get(meta)
        if found is None:
            from loopml.store.metadata.sql import SqlMetadataStore

            if not isinstance(meta, SqlMetadataStore):
                raise InvalidStateError(
                    "pipelines record their runs in a SQL metadata database (SQLite or "
                    "PostgreSQL): point LOOPML_DB_URL at it instead of a tracking server URL "
                    "to run pipelines"
                )
            from loopml.store.metadata.pipeline_sql import SqlPipelineStore

            found = _by_metadata[meta] = SqlPipelineStore(meta.engine)
        return found
