"""Metric points wait in memory and reach the store in batches, off the caller's thread.

``log_metric`` only appends to a deque (thread-safe, lock-free); a daemon thread drains it every
``interval`` seconds or sooner when ``max_points`` pile up. ``flush()`` drains synchronously and
re-raises a failed write, so ``end_run``, interpreter exit and ``loopml.flush()`` lose nothing.
A SIGKILL loses what arrived since the last flush: at most ``interval`` seconds of points.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence

from loopml.store.metadata.base import MetricPoint

log = logging.getLogger("loopml.tracking")

Writer = Callable[[Sequence[MetricPoint]], None]


class MetricBuffer:
    def __init__(self, write: Writer, interval: float = 1.0, max_points: int = 50_000) -> None:
        self._write = write
        self._interval = interval
        self._max_points = max_points
        self._queue: deque[MetricPoint] = deque()
        self._retry: list[MetricPoint] = []
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._last_error: BaseException | None = None

    def add(self, point: MetricPoint) -> None:
        self._queue.append(point)
        if self._thread is None:
            self._start()
        elif len(self._queue) >= self._max_points:
            self._wake.set()

    def extend(self, points: Sequence[MetricPoint]) -> None:
        self._queue.extend(points)
        if self._thread is None:
            self._start()
        if len(self._queue) >= self._max_points:
            self._wake.set()

    def __len__(self) -> int:
        return len(self._queue) + len(self._retry)

    def _start(self) -> None:
        with self._flush_lock:
            if self._thread is None and not self._stopped:
                self._thread = threading.Thread(
                    target=self._loop, name="loopml-metrics", daemon=True
                )
                self._thread.start()

    def _loop(self) -> None:
        while not self._stopped:
            self._wake.wait(self._interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception as exc:  # kept for the next flush; the caller sees it there
                log.warning("loopml could not write metrics yet (will retry): %s", exc)

    def flush(self) -> int:
        """Write everything queued so far; returns the number of points written."""
        return self.flush_with(self._write)

    def flush_with(self, write: Writer, *, always: bool = False) -> int:
        """Drain the queue into ``write`` (e.g. together with other writes in one transaction).

        ``always`` calls ``write`` even when nothing is queued.
        """
        with self._flush_lock:
            queue = self._queue
            batch = self._retry
            self._retry = []
            batch.extend(queue.popleft() for _ in range(len(queue)))
            if not batch and not always:
                return 0
            try:
                write(batch)
            except BaseException as exc:
                self._retry = batch
                self._last_error = exc
                raise
            self._last_error = None
            return len(batch)

    def discard_pending(self) -> list[MetricPoint]:
        """Drop (and return) points that cannot be written, e.g. for a run that was deleted."""
        with self._flush_lock:
            dropped = self._retry + list(self._queue)
            self._retry = []
            self._queue.clear()
            return dropped

    def close(self) -> None:
        self._stopped = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        self.flush()
