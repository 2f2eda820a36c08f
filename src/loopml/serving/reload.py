"""Zero-downtime updates: poll a :class:`Source`, load and smoke-test the new lineup off the
event loop, then swap it in with one assignment.

Requests that started on the old generation finish on it (its batchers close only once its
``active`` count is back to zero), so no request fails during a switch. A lineup whose smoke
test fails never serves: the old one stays, the failure is logged and counted
(``loopml_serving_reloads_total{result="failed"}``), and the same fingerprint is retried only
after ``retry_s`` (a transient error heals; a broken model does not spin the poller).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Hashable

from loopml.serving.lineup import Generation, Lineup, Source
from loopml.serving.metrics import ServingMetrics

__all__ = ["Reloader", "Switch"]

log = logging.getLogger("loopml.serving")


class Switch:
    """Holds the generation in force; :meth:`swap` replaces it and retires the old one."""

    def __init__(self, current: Generation, *, grace_s: float = 30.0) -> None:
        self.current = current
        self.grace_s = grace_s
        self._retiring: set[asyncio.Task[None]] = set()

    def swap(self, new: Generation) -> None:
        old, self.current = self.current, new  # from here on, new requests see ``new``
        if new.lineup.on_switch is not None:
            new.lineup.on_switch()
        keep = {id(m) for m in new.models}
        task = asyncio.get_running_loop().create_task(self._retire(old, keep))
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def _retire(self, old: Generation, keep: set[int]) -> None:
        deadline = time.monotonic() + self.grace_s
        while old.active > 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        for served in old.models:
            if id(served) not in keep:
                await served.batcher.close()

    async def close(self) -> None:
        if self._retiring:
            await asyncio.wait(list(self._retiring), timeout=self.grace_s)
        for served in self.current.models:
            await served.batcher.close()


class Reloader:
    """Polls ``source`` every ``interval_s`` and switches to what changed."""

    def __init__(
        self,
        source: Source,
        switch: Switch,
        metrics: ServingMetrics,
        *,
        interval_s: float = 1.0,
        retry_s: float = 30.0,
    ) -> None:
        self.source = source
        self.switch = switch
        self.metrics = metrics
        self.interval_s = interval_s
        self.retry_s = retry_s
        self._failed: Hashable = None
        self._retry_at = 0.0
        self._warned: str | None = None

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.check()
            except Exception:  # the poller must outlive any one bad check
                log.exception("checking for a new model version failed")

    async def check(self) -> bool:
        """One poll: switch if the source changed and the new lineup passes its smoke test."""
        current = self.switch.current
        try:
            fingerprint = await asyncio.to_thread(self.source.fingerprint)
        except Exception as exc:  # the store may be away for a moment: keep serving
            message = f"{type(exc).__name__}: {exc}"
            if message != self._warned:  # once per distinct problem, not every poll
                log.warning("could not check for a new model version (%s); still serving", message)
                self._warned = message
            return False
        self._warned = None
        if fingerprint == current.lineup.fingerprint:
            return False
        if fingerprint == self._failed and time.monotonic() < self._retry_at:
            return False
        lineup: Lineup | None = None
        try:
            lineup = await asyncio.to_thread(self.source.load, current.lineup.models)
            for route in lineup.routes:
                if not route.served.ready:
                    await asyncio.to_thread(route.served.smoke_test)
            for shadow in lineup.shadows:  # a broken shadow must not block the switch
                if not shadow.served.ready:
                    try:
                        await asyncio.to_thread(shadow.served.smoke_test)
                    except Exception as exc:
                        log.warning("shadow %s failed its smoke test: %s", shadow.uri, exc)
        except Exception as exc:
            self._failed, self._retry_at = fingerprint, time.monotonic() + self.retry_s
            self.metrics.reloads.labels("failed").inc()
            log.error(
                "the new lineup failed to load or smoke-test (%s: %s); still serving %s",
                type(exc).__name__,
                exc,
                current.describe(),
            )
            if lineup is not None:
                await _close_unused(lineup, current)
            return False
        new = Generation(lineup, self.metrics)
        self.switch.swap(new)
        self.metrics.reloads.labels("ok").inc()
        log.warning("switched from %s to %s", current.describe(), new.describe())
        return True


async def _close_unused(lineup: Lineup, current: Generation) -> None:
    serving = {id(m) for m in current.models}
    for route in (*lineup.routes, *lineup.shadows):
        if id(route.served) not in serving:
            await route.served.batcher.close()
