"""``loopml ct run``: the controller's pass, repeated every ``interval`` seconds until SIGTERM.

A signal only sets a flag: the pass in progress finishes its current step (every step records
its state before acting), then the loop gives the lease back and returns.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from loopml.ct.controller import Controller
from loopml.errors import LoopmlError
from loopml.store.metadata.ct_base import CtDecision

__all__ = ["run_forever"]

log = logging.getLogger("loopml.ct")


def run_forever(
    controller: Controller,
    interval_s: float = 30.0,
    *,
    stop: threading.Event | None = None,
    on_decisions: Callable[[list[CtDecision]], None] | None = None,
    max_passes: int | None = None,
) -> int:
    """Run passes until ``stop`` is set (SIGTERM and SIGINT set it in the main thread); the
    number of passes made."""
    stop = stop or threading.Event()
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():

        def _on_signal(signum: int, _frame: FrameType | None) -> None:
            log.info("ct: signal %d, stopping after this step", signum)
            stop.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, _on_signal)
    passes = 0
    try:
        while not stop.is_set():
            try:
                decisions = controller.run_once()
            except LoopmlError as exc:  # the database away for a moment: try again next pass
                log.warning("ct: pass failed: %s", exc.message)
                decisions = []
            except Exception:  # a long-running controller logs a bug and keeps going
                log.exception("ct: pass failed")
                decisions = []
            passes += 1
            if on_decisions is not None and decisions:
                on_decisions(decisions)
            if max_passes is not None and passes >= max_passes:
                break
            stop.wait(interval_s)
    finally:
        controller.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return passes
