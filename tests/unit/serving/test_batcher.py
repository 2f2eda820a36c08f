"""The batcher merges what queued while it was busy, returns each caller its own result, and
refuses work past its queue bound."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from loopml.serving.batcher import Batcher, QueueFullError


def test_queued_requests_are_merged_and_split_back() -> None:
    batches: list[list[int]] = []
    gate = threading.Event()

    def predict(items: list[Any]) -> list[Any]:
        gate.wait(5)
        batches.append(list(items))
        return [i * 10 if i != 3 else ValueError("bad row") for i in items]

    async def main() -> list[Any]:
        batcher = Batcher(predict, max_batch_rows=4)
        tasks = [asyncio.ensure_future(batcher.submit(i, 1)) for i in range(6)]
        await asyncio.sleep(0.05)
        gate.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        await batcher.close()
        return results

    results = asyncio.run(main())
    assert results[:3] == [0, 10, 20] and isinstance(results[3], ValueError)
    assert results[4:] == [40, 50]
    assert batches == [[0, 1, 2, 3], [4, 5]]  # all queued before the worker ran: max 4 rows


@pytest.mark.parametrize("rows", [1, 8])
def test_a_full_queue_refuses(rows: int) -> None:
    gate = threading.Event()

    def predict(items: list[Any]) -> list[Any]:
        gate.wait(5)
        return items

    async def main() -> list[Any]:
        batcher = Batcher(predict, max_batch_rows=rows, max_queue=2)
        tasks = [asyncio.ensure_future(batcher.submit(i, 1)) for i in range(5)]
        await asyncio.sleep(0.05)
        gate.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        await batcher.close()
        return results

    results = asyncio.run(main())
    assert any(isinstance(r, QueueFullError) for r in results)
    assert 0 in results
