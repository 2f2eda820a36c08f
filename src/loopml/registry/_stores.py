"""The registry store of the process's context: the SQL one beside a SQL metadata store, the
REST one beside the REST client of a server (sharing its connection pool), or the one a
metadata store exposes as ``registry``."""

from __future__ import annotations

import getpass
import os
import threading
import weakref
from typing import TYPE_CHECKING, cast

from loopml.errors import InvalidStateError

if TYPE_CHECKING:
    from loopml.store.metadata.data_base import DatasetStore
    from loopml.store.metadata.registry_base import RegistryStore
    from loopml.tracking.context import Context

_lock = threading.Lock()
_by_metadata: weakref.WeakKeyDictionary[object, RegistryStore] = weakref.WeakKeyDictionary()


def context() -> Context:
    from loopml.tracking.context import get_context

    return get_context()


def registry_store(ctx: Context | None = None) -> RegistryStore:
    meta = (ctx or context()).metadata
    own = getattr(meta, "registry", None)
    if own is not None:
        return cast("RegistryStore", own)
    with _lock:
        found = _by_metadata.get(meta)
        if found is None:
            found = _open_for(meta)
            _by_metadata[meta] = found
        return found


def _open_for(meta: object) -> RegistryStore:
    from loopml.store.metadata.rest import RestMetadataStore
    from loopml.store.metadata.sql import SqlMetadataStore

    if isinstance(meta, SqlMetadataStore):
        from loopml.store.metadata.registry_sql import SqlRegistryStore

        return SqlRegistryStore(meta.engine)
    if isinstance(meta, RestMetadataStore):
        from loopml.store.metadata.registry_rest import RestRegistryStore

        return RestRegistryStore(meta.http)
    raise InvalidStateError(f"the metadata store {type(meta).__name__} has no model registry")


def dataset_store(ctx: Context | None = None) -> DatasetStore | None:
    """The dataset records beside the metadata store, if this store keeps any."""
    meta = (ctx or context()).metadata
    own = getattr(meta, "datasets", None)
    if own is not None:
        return cast("DatasetStore", own)
    from loopml.store.metadata.sql import SqlMetadataStore

    if not isinstance(meta, SqlMetadataStore):
        return None
    try:
        from loopml.store.metadata.data_sql import SqlDatasetStore
    except ImportError:  # pragma: no cover - the data package is optional at this layer
        return None
    return SqlDatasetStore(meta.engine)


def current_user() -> str:
    """Who acts locally: ``LOOPML_USER`` if set, else the operating-system user."""
    user = os.environ.get("LOOPML_USER")
    if user:
        return user
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return os.environ.get("USER", "unknown")
