"""Client traffic for the demo: one customer per request, at a steady rate, from a thread.

The traffic keeps flowing while the rest of the demo works (monitoring, retraining, the canary
rollout, the promotion), as a real client would, and counts every answer: a failed request is
anything but a 200, so "zero failed requests" is a claim about every switch the server made.
Each request carries its own ``X-Request-Id`` so that the labels that arrive later (feedback)
can be matched to it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Traffic", "TrafficStats"]

RECENT = 20  # answers in a row from one version that show a switch has taken effect


@dataclass
class TrafficStats:
    """What the client saw, overall and per serving model version."""

    sent: int = 0
    ok: int = 0
    failed: int = 0
    by_version: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)

    def p99_ms(self) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


class Traffic:
    """Sends the rows of the current *phase* to ``url``'s ``/invocations``: ``rate`` requests
    per second in all, from ``concurrency`` clients (so the server can batch them).

    ``switch(name, frame)`` changes what customers arrive (the demo's covariate shift happens
    here); ``wait_for(n)`` blocks until ``n`` more requests were answered.
    """

    def __init__(self, url: str, *, rate: float, concurrency: int = 4) -> None:
        self.url = url
        self.rate = rate
        self.concurrency = concurrency
        self.stats = TrafficStats()
        self.labels: dict[str, int] = {}  # request id -> true label, for feedback
        self.phase = ""
        self._columns: list[str] = []
        self._rows: list[list[Any]] = []
        self._truth: list[int] = []
        self._next = 0
        self._lock = threading.Lock()
        self._answered = threading.Condition(self._lock)
        self._recent: deque[str] = deque(maxlen=RECENT)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def switch(self, phase: str, frame: Any, labels: Any = None) -> None:
        """From now on, send the rows of ``frame`` (cycled) tagged ``phase``."""
        columns = [str(c) for c in frame.columns]
        rows = [[_plain(v) for v in row] for row in frame.itertuples(index=False, name=None)]
        with self._lock:
            self.phase = phase
            self._columns, self._rows, self._next = columns, rows, 0
            self._truth = [int(v) for v in labels] if labels is not None else []

    def start(self) -> None:
        for i in range(self.concurrency):
            thread = threading.Thread(target=self._run, name=f"quickstart-traffic-{i}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def take_labels(self) -> dict[str, int]:
        """The true labels of answered requests not taken yet (they "arrive later")."""
        with self._lock:
            labels, self.labels = self.labels, {}
        return labels

    def answered(self) -> int:
        with self._lock:
            return self.stats.ok + self.stats.failed

    def wait_for(self, n: int, timeout: float = 120.0) -> int:
        """Block until ``n`` more requests were answered (or ``timeout``); returns how many."""
        with self._lock:
            start = self.stats.ok + self.stats.failed
            deadline = time.monotonic() + timeout
            while self.stats.ok + self.stats.failed - start < n:
                left = deadline - time.monotonic()
                if left <= 0 or not any(t.is_alive() for t in self._threads):
                    break
                self._answered.wait(min(left, 0.5))
            return self.stats.ok + self.stats.failed - start

    def wait_served_by(self, version: str, timeout: float = 30.0) -> bool:
        """Block until the last ``RECENT`` answers all came from ``version`` (a hot switch
        has taken effect and what was in flight on the old version has finished)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not (len(self._recent) == RECENT and all(v == version for v in self._recent)):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._answered.wait(min(left, 0.5))
            return True

    def _take(self) -> tuple[str, bytes, int | None]:
        import orjson

        with self._lock:
            i = self._next % len(self._rows)
            self._next += 1
            rid = f"{self.phase}-{self.stats.sent:06d}"
            self.stats.sent += 1
            body = {"dataframe_split": {"columns": self._columns, "data": [self._rows[i]]}}
            truth = self._truth[i] if self._truth else None
        return rid, orjson.dumps(body), truth

    def _run(self) -> None:
        import httpx

        interval = self.concurrency / self.rate
        headers = {"content-type": "application/json"}
        with httpx.Client(base_url=self.url, timeout=30.0) as http:
            due = time.monotonic()
            while not self._stop.is_set():
                due += interval
                rid, body, truth = self._take()
                started = time.perf_counter()
                try:
                    answer = http.post(
                        "/invocations", content=body, headers={**headers, "x-request-id": rid}
                    )
                    status, version = (
                        answer.status_code,
                        answer.headers.get("x-loopml-model-version"),
                    )
                    error = None if status == 200 else f"HTTP {status}: {answer.text[:200]}"
                except httpx.HTTPError as exc:
                    status, version, error = 0, None, f"{type(exc).__name__}: {exc}"
                latency = (time.perf_counter() - started) * 1000
                with self._lock:
                    if error is None:
                        self.stats.ok += 1
                        self.stats.by_version[version or "?"] += 1
                        self._recent.append(version or "?")
                        self.stats.latencies_ms.append(latency)
                        if truth is not None:
                            self.labels[rid] = truth
                    else:
                        self.stats.failed += 1
                        self.stats.errors[error] += 1
                    self._answered.notify_all()
                pause = due - time.monotonic()
                if pause > 0:
                    self._stop.wait(pause)
                else:
                    due = time.monotonic()  # behind: do not burst to catch up


def _plain(value: Any) -> Any:
    """numpy scalars to the JSON types a client would send."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value
