"""The metric buffer: batches in the background, loses nothing, retries failed writes."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from loopml.store.metadata.base import MetricPoint
from loopml.tracking.buffer import MetricBuffer


def test_background_thread_flushes_within_the_interval() -> None:
    written: list[MetricPoint] = []
    buf = MetricBuffer(written.extend, interval=0.05)
    for i in range(1000):
        buf.add(("r", "k", float(i), i, 0))
    deadline = time.monotonic() + 5
    while len(written) < 1000 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(written) == 1000
    buf.close()


def test_failed_write_is_kept_and_retried() -> None:
    calls: list[int] = []
    fail = threading.Event()
    fail.set()

    def write(points: Sequence[MetricPoint]) -> None:
        if fail.is_set():
            raise OSError("database down")
        calls.append(len(points))

    buf = MetricBuffer(write, interval=60)
    buf.extend([("r", "k", 1.0, 0, 0)] * 10)
    with pytest.raises(OSError):
        buf.flush()
    buf.add(("r", "k", 2.0, 1, 0))
    fail.clear()
    assert buf.flush() == 11
    assert calls == [11]
    buf.close()


def test_concurrent_adders_lose_nothing() -> None:
    written: list[MetricPoint] = []
    buf = MetricBuffer(written.extend, interval=0.001, max_points=100)

    def add(worker: int) -> None:
        for i in range(20_000):
            buf.add(("r", f"w{worker}", 0.0, i, 0))

    threads = [threading.Thread(target=add, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    buf.close()
    assert len(written) == 80_000
