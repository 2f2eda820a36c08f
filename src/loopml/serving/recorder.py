"""Payload log and live counters of a deployment, kept off the request path.

``observe`` (on the event loop) only appends to a bounded queue and bumps in-memory counters;
a background thread writes the queue as Parquet files (one per flush, per process) under
``<project>/.loopml/payloads/<deployment>/<day>/`` and adds the counters to the metadata store.
When the writer cannot keep up the queue drops events and counts them (``dropped``), so serving
never waits for logging. The monitoring issue reads these files.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from loopml.serving.app import Event
from loopml.store.metadata.deployments_base import DeploymentStore, RouteCounter

__all__ = ["PAYLOAD_COLUMNS", "Recorder", "read_payloads"]

log = logging.getLogger("loopml.serving")

PAYLOAD_COLUMNS = (
    "request_id",
    "deployment",
    "route",
    "model_uri",
    "model_version",
    "status",
    "latency_ms",
    "ts_ms",
    "shadow",
    "inputs",
    "outputs",
)


class Recorder:
    """An :class:`~loopml.serving.app.Observer` that logs payloads and counts per route."""

    def __init__(
        self,
        deployment: str,
        store: DeploymentStore | None,
        folder: Path | None,
        *,
        interval_s: float = 1.0,
        max_queue: int = 100_000,
    ) -> None:
        self.deployment = deployment
        self.store = store
        self.folder = folder
        self.interval_s = interval_s
        self.dropped = 0
        self._queue: collections.deque[Event] = collections.deque()
        self._max_queue = max_queue
        self._counts: dict[str, list[Any]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._seq = 0
        if folder is not None:  # import now, not in the first flush while requests are served
            import pyarrow.parquet  # noqa: F401
        self._thread = threading.Thread(target=self._loop, name="loopml-recorder", daemon=True)
        self._thread.start()

    def observe(self, event: Event) -> None:
        route = f"shadow:{event.model_uri}" if event.shadow else event.route
        with self._lock:
            count = self._counts.get(route)
            if count is None:
                count = self._counts[route] = [event.model_uri, 0, 0, 0.0]
            count[1] += 1
            count[2] += event.status >= 400
            count[3] += event.latency_ms
        if self.folder is not None:
            if len(self._queue) >= self._max_queue:
                self.dropped += 1
            else:
                self._queue.append(event)

    def close(self) -> None:
        """Stop the writer after a last flush (every queued event is written)."""
        self._stop.set()
        self._thread.join(timeout=30)

    def flush(self) -> None:
        with self._lock:
            counts, self._counts = self._counts, {}
        if counts and self.store is not None:
            deltas = [RouteCounter(r, c[0], c[1], c[2], c[3]) for r, c in counts.items()]
            try:
                self.store.add_counters(self.deployment, deltas)
            except Exception as exc:  # the database may be away: keep the counts for next time
                log.warning("could not store deployment counters: %s", exc)
                with self._lock:
                    for route, c in counts.items():
                        now = self._counts.setdefault(route, [c[0], 0, 0, 0.0])
                        now[1] += c[1]
                        now[2] += c[2]
                        now[3] += c[3]
        events = []
        while self._queue:
            events.append(self._queue.popleft())
        if events and self.folder is not None:
            self._write(events)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._flush_safely()
        self._flush_safely()

    def _flush_safely(self) -> None:
        try:
            self.flush()
        except Exception:
            log.exception("the payload log writer failed")

    def _write(self, events: list[Event]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        assert self.folder is not None
        table = pa.table(
            {
                "request_id": [e.request_id for e in events],
                "deployment": [self.deployment] * len(events),
                "route": [e.route for e in events],
                "model_uri": [e.model_uri for e in events],
                "model_version": [e.model_version for e in events],
                "status": pa.array([e.status for e in events], pa.int32()),
                "latency_ms": pa.array([e.latency_ms for e in events], pa.float64()),
                "ts_ms": pa.array([e.ts_ms for e in events], pa.int64()),
                "shadow": [e.shadow for e in events],
                "inputs": [e.body.decode("utf-8", "replace") for e in events],
                "outputs": [e.output.decode() if e.output is not None else None for e in events],
            }
        )
        day = time.strftime("%Y-%m-%d", time.gmtime(events[0].ts_ms / 1000))
        folder = self.folder / day
        folder.mkdir(parents=True, exist_ok=True)
        self._seq += 1
        name = f"{events[0].ts_ms}-{os.getpid()}-{self._seq}.parquet"
        tmp = folder / f".{name}.tmp"
        pq.write_table(table, tmp)
        tmp.replace(folder / name)  # readers never see a half-written file


def read_payloads(folder: Path) -> Any:
    """Every payload row under ``folder`` as a pyarrow table (for monitoring and tests)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = sorted(folder.rglob("*.parquet"))
    if not files:
        return pa.table({c: [] for c in PAYLOAD_COLUMNS})
    return pa.concat_tables([pq.read_table(f) for f in files])
