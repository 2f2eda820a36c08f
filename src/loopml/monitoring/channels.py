"""Where fired alerts go: the log, and webhooks posted from a background thread.

A webhook is a JSON POST retried with exponential backoff. The caller only enqueues: a down
or slow endpoint delays nothing but the sender thread, and when the bounded queue is full new
alerts are dropped and counted rather than waiting (the alert history in the store keeps them
all anyway).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

__all__ = ["WebhookSender", "log_alert", "sender"]

log = logging.getLogger("loopml.monitoring.alerts")

MAX_QUEUE = 1000


def log_alert(alert: Any) -> None:
    level = logging.ERROR if alert.severity == "critical" else logging.WARNING
    log.log(level, "[%s] %s: %s", alert.deployment, alert.name, alert.message)


@dataclass
class _Job:
    url: str
    body: dict[str, Any]


class WebhookSender:
    """One daemon thread posting queued alerts; ``send`` never blocks."""

    def __init__(
        self,
        *,
        timeout_s: float = 5.0,
        retries: int = 3,
        backoff_s: float = 0.5,
        max_queue: int = MAX_QUEUE,
    ) -> None:
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self._queue: queue.Queue[_Job] = queue.Queue(maxsize=max_queue)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def send(self, url: str, body: dict[str, Any]) -> bool:
        """Queue ``body`` for ``url``; False (and counted) if the queue is full."""
        self._start()
        try:
            self._queue.put_nowait(_Job(url, body))
        except queue.Full:
            self.dropped += 1
            log.warning("webhook queue full: alert for %s dropped", url)
            return False
        return True

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every queued alert was posted or given up on; False on timeout."""
        deadline = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="loopml-alert-webhooks", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        import httpx

        with httpx.Client(timeout=self.timeout_s) as client:
            while not self._stop.is_set():
                try:
                    job = self._queue.get(timeout=0.5)
                except queue.Empty:
                    continue
                try:
                    self._post(client, job)
                finally:
                    self._queue.task_done()

    def _post(self, client: Any, job: _Job) -> None:
        import httpx

        delay = self.backoff_s
        for attempt in range(1, self.retries + 2):
            try:
                response = client.post(job.url, json=job.body)
                if response.status_code < 500 and response.status_code != 429:
                    if response.status_code >= 400:
                        log.warning(
                            "webhook %s refused the alert: %s", job.url, response.status_code
                        )
                        self.failed += 1
                    else:
                        self.sent += 1
                    return
                reason = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                reason = f"{type(exc).__name__}: {exc}"
            if attempt > self.retries:
                break
            time.sleep(delay)
            delay *= 2
        self.failed += 1
        log.warning("webhook %s failed after %d attempts: %s", job.url, self.retries + 1, reason)


_sender: WebhookSender | None = None
_sender_lock = threading.Lock()


def sender() -> WebhookSender:
    """The process's webhook sender (one thread for every deployment's webhooks)."""
    global _sender
    with _sender_lock:
        if _sender is None:
            _sender = WebhookSender()
        return _sender
