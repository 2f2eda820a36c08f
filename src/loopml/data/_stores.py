"""The stores the data package works on: the process's context, its dataset records, its state.

Dataset records share the metadata store's database: a SQL metadata store gives its engine to
:class:`SqlDatasetStore`, the REST client of a server its HTTP client to
:class:`RestDatasetStore`; any other store may expose its own as ``datasets``.
"""

from __future__ import annotations

import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, cast

from loopml.errors import InvalidStateError

if TYPE_CHECKING:
    from loopml.store.metadata.data_base import DatasetStore
    from loopml.store.objects import ObjectStore
    from loopml.tracking.context import Context

_lock = threading.Lock()
_by_metadata: weakref.WeakKeyDictionary[object, DatasetStore] = weakref.WeakKeyDictionary()


def context() -> Context:
    from loopml.tracking.context import get_context

    return get_context()


def dataset_store(ctx: Context | None = None) -> DatasetStore:
    meta = (ctx or context()).metadata
    own = getattr(meta, "datasets", None)
    if own is not None:
        return cast("DatasetStore", own)
    with _lock:
        found = _by_metadata.get(meta)
        if found is None:
            found = _by_metadata[meta] = _open_for(meta)
        return found


def _open_for(meta: object) -> DatasetStore:
    from loopml.store.metadata.rest import RestMetadataStore
    from loopml.store.metadata.sql import SqlMetadataStore

    if isinstance(meta, SqlMetadataStore):
        from loopml.store.metadata.data_sql import SqlDatasetStore

        return SqlDatasetStore(meta.engine)
    if isinstance(meta, RestMetadataStore):
        from loopml.store.metadata.data_rest import RestDatasetStore

        return RestDatasetStore(meta.http)
    raise InvalidStateError(
        f"the metadata store {type(meta).__name__} does not hold dataset versions"
    )


def object_store(ctx: Context | None = None) -> ObjectStore:
    return (ctx or context()).objects


def project_root(ctx: Context | None = None) -> Path:
    return (ctx or context()).settings.root


def state_dir(ctx: Context | None = None) -> Path:
    return (ctx or context()).settings.state_dir
