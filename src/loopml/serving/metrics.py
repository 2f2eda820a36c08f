"""Prometheus metrics of one serving app, in a registry of its own (two apps in one process,
as in tests, never collide). Labelled by model version so a canary can be compared."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

__all__ = ["CONTENT_TYPE", "ServingMetrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class ServingMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        labels = ("model", "version", "protocol")
        self.requests = Counter(
            "loopml_serving_requests",
            "Prediction requests answered, by status code.",
            (*labels, "status"),
            registry=self.registry,
        )
        self.errors = Counter(
            "loopml_serving_errors",
            "Prediction requests that failed, by error code.",
            (*labels, "code"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "loopml_serving_request_seconds",
            "Time from request received to response ready.",
            labels,
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_requests = Histogram(
            "loopml_serving_batch_requests",
            "Requests merged into one predict call.",
            ("model", "version"),
            buckets=_BATCH_BUCKETS,
            registry=self.registry,
        )
        self.batch_rows = Histogram(
            "loopml_serving_batch_rows",
            "Rows in one predict call.",
            ("model", "version"),
            buckets=_BATCH_BUCKETS,
            registry=self.registry,
        )

        self.reloads = Counter(
            "loopml_serving_reloads",
            "Hot reloads: ok (switched) or failed (the old lineup kept serving).",
            ("result",),
            registry=self.registry,
        )

    def watch_dropped(self, read: Callable[[], float]) -> None:
        """Expose ``read()`` as the payload-log drop counter."""
        self.registry.register(_Dropped(read))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _Dropped(Collector):
    def __init__(self, read: Callable[[], float]) -> None:
        self._read = read

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(
            "loopml_serving_payload_dropped",
            "Payload-log events dropped because the writer could not keep up.",
            value=self._read(),
        )
