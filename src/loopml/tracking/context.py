"""The stores a process logs to, opened lazily on first use and shared by the SDK and CLI."""

from __future__ import annotations

import atexit
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from loopml.config import Settings, load_settings
from loopml.store.metadata.base import MetadataStore
from loopml.tracking.buffer import MetricBuffer

if TYPE_CHECKING:
    from loopml.store.objects import ObjectStore


def open_metadata_store(url: str) -> MetadataStore:
    """The metadata store for ``url``: a loopml server (``http(s)://``) or a SQL database."""
    if is_server_url(url):
        from loopml.store.metadata.rest import RestMetadataStore

        return RestMetadataStore(url)
    from loopml.store.metadata.sql import SqlMetadataStore

    return SqlMetadataStore(url)


def is_server_url(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


def open_object_store(settings: Settings, metadata: MetadataStore | None) -> ObjectStore:
    """Artifacts go where metadata goes: through the server when it is remote, unless
    ``LOOPML_ARTIFACTS_DIRECT=1`` says this client may write to the store itself (its URL from
    ``LOOPML_OBJECT_STORE``, else the one the server reports)."""
    from loopml.store.objects import ObjectStore

    if metadata is None or not is_server_url(settings.metadata_url):
        return ObjectStore(settings.object_store)
    from loopml.store.metadata.rest import RestMetadataStore
    from loopml.store.objects.rest import RestObjectStore

    assert isinstance(metadata, RestMetadataStore)
    if os.environ.get("LOOPML_ARTIFACTS_DIRECT", "") not in ("", "0"):
        url = os.environ.get("LOOPML_OBJECT_STORE") or metadata.server_info()["object_store"]
        return ObjectStore(url)
    return RestObjectStore(metadata.url, metadata.http)


@dataclass
class Context:
    settings: Settings
    _metadata: MetadataStore | None = None
    _objects: ObjectStore | None = None
    _buffer: MetricBuffer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def metadata(self) -> MetadataStore:
        if self._metadata is None:
            with self._lock:
                if self._metadata is None:
                    self._metadata = open_metadata_store(self.settings.metadata_url)
        return self._metadata

    @property
    def objects(self) -> ObjectStore:
        if self._objects is None:
            metadata = self.metadata if is_server_url(self.settings.metadata_url) else None
            with self._lock:
                if self._objects is None:
                    self._objects = open_object_store(self.settings, metadata)
        return self._objects

    @property
    def buffer(self) -> MetricBuffer:
        if self._buffer is None:
            with self._lock:
                if self._buffer is None:
                    self._buffer = MetricBuffer(
                        lambda points: self.metadata.log_metrics(points),
                        interval=self.settings.flush_interval,
                        max_points=self.settings.flush_max_points,
                    )
        return self._buffer

    def flush(self) -> int:
        return self._buffer.flush() if self._buffer is not None else 0

    def close(self) -> None:
        if self._buffer is not None:
            self._buffer.close()
        if self._metadata is not None:
            self._metadata.close()


_context: Context | None = None
_context_lock = threading.Lock()


def get_context() -> Context:
    global _context
    if _context is None:
        with _context_lock:
            if _context is None:
                _context = Context(load_settings())
    return _context


def configure(
    root: str | Path | None = None,
    *,
    db_url: str | None = None,
    object_store: str | None = None,
) -> Settings:
    """Point this process at a project folder or explicit stores (flushing the current ones)."""
    global _context
    settings = load_settings(
        root=Path(root) if root is not None else None, db_url=db_url, object_store=object_store
    )
    with _context_lock:
        if _context is not None:
            _context.close()
        _context = Context(settings)
    return settings


def _flush_at_exit() -> None:
    if _context is not None:
        _context.close()


def _reset_in_child() -> None:
    # A forked child must not share the parent's connections or buffer thread.
    global _context
    if _context is not None:
        _context = Context(_context.settings)


atexit.register(_flush_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_in_child)
