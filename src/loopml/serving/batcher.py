"""Opportunistic batching: one worker thread predicts whatever queued while it was busy.

There is no waiting window (a fixed window costs latency at low load, DESIGN.md): an idle
worker takes the first request at once; under load, requests that arrive during a ``predict``
are merged into the next one, so the batch grows with the load. Each caller gets exactly its
own rows back. The queue is bounded: when it is full the caller gets :class:`QueueFullError`
(a 503) instead of waiting without end.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from loopml.serving.http import HttpError

__all__ = ["Batcher", "QueueFullError"]

DIRECT_THREADS = 4


class QueueFullError(HttpError):
    """The prediction queue is full: the server is overloaded (HTTP 503)."""

    code = "SERVICE_UNAVAILABLE"
    status = 503


@dataclass
class _Item:
    data: Any
    rows: int
    future: asyncio.Future[Any]


class Batcher:
    """Merges concurrent ``submit`` calls into ``predict_batch`` calls on one worker thread.

    ``predict_batch(items)`` gets the prepared inputs of one batch and returns one result (or
    exception) per item, in order; ``on_batch(requests, rows)`` is told each batch's size.
    """

    def __init__(
        self,
        predict_batch: Callable[[list[Any]], list[Any]],
        *,
        max_batch_rows: int = 256,
        max_queue: int = 1024,
        on_batch: Callable[[int, int], None] | None = None,
    ) -> None:
        self._predict_batch = predict_batch
        self.max_batch_rows = max(1, max_batch_rows)
        self.max_queue = max_queue
        self._on_batch = on_batch
        self._queue: collections.deque[_Item] = collections.deque()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        # Without batching (one row per call) requests skip the queue and predict on a small
        # pool directly: one thread hop per request, as a bare endpoint has.
        self._direct = self.max_batch_rows == 1
        self._in_flight = 0
        self._executor = ThreadPoolExecutor(
            DIRECT_THREADS if self._direct else 1, thread_name_prefix="loopml-predict"
        )

    @property
    def queued(self) -> int:
        return len(self._queue)

    async def submit(self, data: Any, rows: int) -> Any:
        """Predict on ``data`` (``rows`` rows) in the next batch; returns this caller's result."""
        if len(self._queue) >= self.max_queue or self._in_flight >= self.max_queue:
            raise QueueFullError(
                f"the prediction queue is full ({self.max_queue} requests waiting): retry "
                "later, or add workers"
            )
        loop = asyncio.get_running_loop()
        if self._direct:
            return await self._predict_direct(loop, data, rows)
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._task = loop.create_task(self._run())
        item = _Item(data, rows, loop.create_future())
        self._queue.append(item)
        assert self._wake is not None
        self._wake.set()
        return await item.future

    async def _predict_direct(self, loop: asyncio.AbstractEventLoop, data: Any, rows: int) -> Any:
        self._in_flight += 1
        try:
            if self._on_batch is not None:
                self._on_batch(1, rows)
            (result,) = await loop.run_in_executor(self._executor, self._predict_batch, [data])
        finally:
            self._in_flight -= 1
        if isinstance(result, BaseException):
            raise result
        return result

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for item in self._queue:
            if not item.future.done():
                item.future.cancel()
        self._queue.clear()
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._wake is not None
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
            batch = self._take()
            if self._on_batch is not None:
                self._on_batch(len(batch), sum(i.rows for i in batch))
            try:
                results = await loop.run_in_executor(
                    self._executor, self._predict_batch, [i.data for i in batch]
                )
            except Exception as exc:  # predict_batch reports per item; this is a last resort
                results = [exc] * len(batch)
            for item, result in zip(batch, results, strict=True):
                if item.future.done():  # the caller went away
                    continue
                if isinstance(result, BaseException):
                    item.future.set_exception(result)
                else:
                    item.future.set_result(result)

    def _take(self) -> list[_Item]:
        batch = [self._queue.popleft()]
        rows = batch[0].rows
        while self._queue and rows + self._queue[0].rows <= self.max_batch_rows:
            item = self._queue.popleft()
            rows += item.rows
            batch.append(item)
        return batch
