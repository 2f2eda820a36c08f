"""Payload log and live counters of a deployment, kept off the request path.

``observe`` (on the event loop) appends the event to a deque and returns: no lock, no
decoding, no counting. A background thread drains the deque every ``interval_s``, adds the
per-route counters to the metadata store and, when payload logging is on, writes the batch as
one Parquet object into the content-addressed object store plus one ``payload_files`` index row
(deployment, object hash, rows, time range), which is how monitoring finds the log. When the
writer cannot keep up the queue drops events and counts them per route (``dropped``, shown in
``/metrics`` and ``loopml deploy show``), so serving never waits for logging.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Any

from loopml.serving.app import Event
from loopml.store.metadata.deployments_base import (
    PAYLOAD_COLUMNS,
    DeploymentStore,
    PayloadFile,
    RouteCounter,
)
from loopml.store.objects import ObjectStore

__all__ = ["PAYLOAD_COLUMNS", "Recorder", "payload_schema", "payload_table", "read_payloads"]

log = logging.getLogger("loopml.serving")

_MAX_PENDING = 64  # written batches waiting for a store that is away; beyond, they are dropped


def payload_schema() -> Any:
    """The Parquet schema of every payload-log object (the contract with monitoring)."""
    import pyarrow as pa

    text = pa.string()
    return pa.schema(
        [
            ("request_id", text),
            ("deployment", text),
            ("route", text),
            ("model_uri", text),
            ("model_version", text),
            ("status", pa.int32()),
            ("latency_ms", pa.float64()),
            ("ts_ms", pa.int64()),
            ("shadow", pa.bool_()),
            ("protocol", text),  # "mlflow" or "v2"
            ("content_type", text),
            ("inputs", text),  # the raw request body
            ("outputs", text),  # the JSON of the predictions returned (null on an error)
        ]
    )


class Recorder:
    """An :class:`~loopml.serving.app.Observer` that logs payloads and counts per route.

    ``objects`` is where payload objects go; ``None`` (or ``logging=False``) keeps counters
    only. ``logging`` may be switched while serving (a new deployment configuration).
    """

    def __init__(
        self,
        deployment: str,
        store: DeploymentStore | None,
        objects: ObjectStore | None,
        *,
        interval_s: float = 2.0,
        max_queue: int = 100_000,
        logging: bool = True,
    ) -> None:
        self.deployment = deployment
        self.store = store
        self.objects = objects
        self.logging = logging and objects is not None  # as of the events flushed last
        self.interval_s = interval_s
        self.dropped = 0  # events lost to a full queue (or to a store away too long)
        self.written = 0  # payload rows indexed
        self._queue: collections.deque[Event | _Toggle] = collections.deque()
        self._max_queue = max_queue
        self._counts: dict[str, list[Any]] = {}  # only the writer thread touches these
        self._lost: dict[str, list[Any]] = {}  # events dropped by observe, under _lock
        self._pending: list[tuple[bytes, PayloadFile]] = []
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._stop = threading.Event()
        if objects is not None:  # import now, not in the first flush while requests are served
            import pyarrow.parquet  # noqa: F401
        self._thread = threading.Thread(target=self._loop, name="loopml-recorder", daemon=True)
        self._thread.start()

    def observe(self, event: Event) -> None:
        queue = self._queue
        if len(queue) < self._max_queue:
            queue.append(event)  # deque.append is atomic: the hot path takes no lock
            return
        route = _route_key(event)
        with self._lock:
            self.dropped += 1
            lost = self._lost.get(route)
            if lost is None:
                lost = self._lost[route] = [event.model_uri, 0, 0, 0.0, 0]
            lost[1] += 1
            lost[2] += event.status >= 400
            lost[3] += event.latency_ms
            lost[4] += 1

    def set_logging(self, on: bool) -> None:
        """Log payloads (or not) from the events observed after this call on; the ones queued
        before keep the setting they were observed under."""
        self._queue.append(_Toggle(on and self.objects is not None))

    def close(self) -> None:
        """Stop the writer after a last flush (every queued event is written)."""
        self._stop.set()
        self._thread.join(timeout=60)

    def flush(self) -> None:
        """Count and write what is queued now (the writer thread calls this every interval)."""
        with self._flushing:
            queue = self._queue
            items = [queue.popleft() for _ in range(len(queue))]
            logged: list[Event] = []
            events: list[Event] = []
            for item in items:
                if isinstance(item, _Toggle):
                    self.logging = item.on
                    continue
                events.append(item)
                if self.logging:
                    logged.append(item)
            self._count(events)
            self._store_counters()
            if logged:
                self._pending.append(self._encode(logged))
            self._write_pending()

    def _count(self, events: list[Event]) -> None:
        counts = self._counts
        for e in events:
            route = _route_key(e)
            count = counts.get(route)
            if count is None:
                count = counts[route] = [e.model_uri, 0, 0, 0.0, 0]
            count[1] += 1
            count[2] += e.status >= 400
            count[3] += e.latency_ms
        if self._lost:
            with self._lock:
                lost, self._lost = self._lost, {}
            _merge(counts, lost)

    def _store_counters(self) -> None:
        counts, self._counts = self._counts, {}
        if not counts or self.store is None:
            return
        deltas = [RouteCounter(r, c[0], c[1], c[2], c[3], dropped=c[4]) for r, c in counts.items()]
        try:
            self.store.add_counters(self.deployment, deltas)
        except Exception as exc:  # the database may be away: keep the counts for next time
            log.warning("could not store deployment counters: %s", exc)
            _merge(self._counts, counts)

    def _encode(self, events: list[Event]) -> tuple[bytes, PayloadFile]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = payload_table(self.deployment, events)
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="snappy")
        ts = table.column("ts_ms")
        import pyarrow.compute as pc

        bounds = pc.min_max(ts)
        now = time.time_ns() // 1_000_000
        f = PayloadFile("", len(events), bounds["min"].as_py(), bounds["max"].as_py(), now)
        return sink.getvalue().to_pybytes(), f

    def _write_pending(self) -> None:
        if self.objects is None or self.store is None:
            self._pending.clear()
            return
        while self._pending:
            data, f = self._pending[0]
            try:
                info = self.objects.put_bytes(data)
                indexed = PayloadFile(info.hash, f.rows, f.min_ts_ms, f.max_ts_ms, f.created_ms)
                self.store.add_payload_file(self.deployment, indexed)
            except Exception as exc:  # the store may be away: retry at the next flush
                log.warning("could not write the payload log of %s: %s", self.deployment, exc)
                while len(self._pending) > _MAX_PENDING:
                    _, old = self._pending.pop(0)
                    self.dropped += old.rows
                return
            self._pending.pop(0)
            self.written += f.rows

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._flush_safely()
        self._flush_safely()

    def _flush_safely(self) -> None:
        try:
            self.flush()
        except Exception:
            log.exception("the payload log writer failed")


class _Toggle:
    """A marker in the queue: payload logging switches here."""

    __slots__ = ("on",)

    def __init__(self, on: bool) -> None:
        self.on = on


def _route_key(event: Event) -> str:
    return f"shadow:{event.model_uri}" if event.shadow else event.route


def _merge(into: dict[str, list[Any]], counts: dict[str, list[Any]]) -> None:
    for route, c in counts.items():
        now = into.setdefault(route, [c[0], 0, 0, 0.0, 0])
        for i in (1, 2, 3, 4):
            now[i] += c[i]


def payload_table(deployment: str, events: list[Event]) -> Any:
    """``events`` as a table with :func:`payload_schema` (one column at a time, in C)."""
    import pyarrow as pa

    n = len(events)
    (rid, route, uri, version, status, latency, ts, shadow, protocol, ctype, body, out) = (
        zip(*events, strict=True) if n else ((),) * 12
    )
    return pa.Table.from_arrays(
        [
            pa.array(rid, pa.string()),
            pa.array([deployment] * n, pa.string()),
            pa.array(route, pa.string()),
            pa.array(uri, pa.string()),
            pa.array(version, pa.string()),
            pa.array(status, pa.int32()),
            pa.array(latency, pa.float64()),
            pa.array(ts, pa.int64()),
            pa.array(shadow, pa.bool_()),
            pa.array(protocol, pa.string()),
            pa.array(ctype, pa.string()),
            _text(body),
            _text(out),
        ],
        schema=payload_schema(),
    )


def _text(values: tuple[bytes | None, ...]) -> Any:
    """Bytes to a string column: one C cast; rows that are not UTF-8 get replacement chars."""
    import pyarrow as pa

    raw = pa.array(values, pa.binary())
    try:
        return raw.cast(pa.string())
    except pa.ArrowInvalid:
        return pa.array(
            [v.decode("utf-8", "replace") if v is not None else None for v in values], pa.string()
        )


def read_payloads(
    deployment: str,
    since_ms: int | None = None,
    until_ms: int | None = None,
    *,
    store: DeploymentStore | None = None,
    objects: ObjectStore | None = None,
) -> Any:
    """The payload rows of ``deployment`` with ``since_ms <= ts_ms < until_ms`` as a pyarrow
    table, found through the ``payload_files`` index (the project's stores unless given)."""
    import io

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if store is None:
        from loopml.serving.deployments import deployment_store

        store = deployment_store()
    if objects is None:
        from loopml.tracking.context import get_context

        objects = get_context().objects
    files = store.list_payload_files(deployment, since_ms, until_ms)
    tables = [pq.read_table(io.BytesIO(objects.get_bytes(f.object_hash))) for f in files]
    table = pa.concat_tables(tables) if tables else payload_schema().empty_table()
    if since_ms is not None:
        table = table.filter(pc.greater_equal(table["ts_ms"], since_ms))
    if until_ms is not None:
        table = table.filter(pc.less(table["ts_ms"], until_ms))
    return table
