"""What an app serves at one moment: a *generation* of routes, shadows and traffic policy.

A hot reload builds a whole new :class:`Generation` and swaps one reference, so a request sees
one consistent lineup from start to end: it counts itself in ``active`` on the generation it
started on, and the old generation's batchers close only after its last request finished.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from loopml.serving.metrics import ServingMetrics
from loopml.serving.model import ServedModel
from loopml.serving.traffic import Traffic

__all__ = ["Endpoint", "Event", "Generation", "Lineup", "Observer", "ServedRoute", "Source"]

PROTOCOLS = ("mlflow", "v2", "shadow")


@dataclass(frozen=True)
class ServedRoute:
    """A model version on a named route of a deployment, with its share of traffic."""

    route: str
    served: ServedModel
    weight: int = 100
    uri: str = ""


class Event(NamedTuple):
    """One answered request (or shadow copy), for payload logs and counters. A tuple, so that
    making one on the request path is cheap and the writer transposes a batch in C."""

    request_id: str
    route: str
    model_uri: str
    model_version: str
    status: int
    latency_ms: float
    ts_ms: int
    shadow: bool
    protocol: str  # "mlflow" or "v2"
    content_type: str
    body: bytes  # the raw request body
    output: bytes | None  # ``{"predictions": ...}`` as JSON; None on an error


class Observer(Protocol):
    dropped: int  # events lost because the observer could not keep up (shown in /metrics)

    def observe(self, event: Event) -> None:
        """Called on the event loop: must only queue, never block."""

    def close(self) -> None:
        """Called once at shutdown, in a thread: write what is queued."""


@dataclass
class Lineup:
    """What a :class:`Source` loaded: the routes and shadows of one configuration."""

    routes: list[ServedRoute]
    shadows: list[ServedRoute] = field(default_factory=list)
    sticky_header: str | None = None
    token: str | None = None
    fingerprint: Hashable = None
    models: dict[Hashable, ServedModel] = field(default_factory=dict)  # by the source's keys
    on_switch: Callable[[], None] | None = None  # called once this lineup serves


class Source(Protocol):
    """Where an app's lineup comes from, polled for changes (a deployment or a model alias)."""

    def fingerprint(self) -> Hashable:
        """A cheap value that changes when the lineup would (config version, alias targets)."""

    def load(self, loaded: dict[Hashable, ServedModel]) -> Lineup:
        """The lineup as of now; reuse a model of ``loaded`` (by the source's own keys) when it
        is unchanged instead of loading it again."""


class Endpoint:
    """A route with pre-bound metric children (label look-ups cost more than increments)."""

    def __init__(self, route: ServedRoute, metrics: ServingMetrics) -> None:
        served = route.served
        self.route = route
        self.served = served
        labels = (served.name, served.version)
        self.version_header = served.version
        self.latency = {p: metrics.latency.labels(*labels, p) for p in PROTOCOLS}
        self._metrics = metrics
        self._labels = labels
        batch_n = metrics.batch_requests.labels(*labels)
        batch_rows = metrics.batch_rows.labels(*labels)

        def on_batch(n: int, rows: int) -> None:
            batch_n.observe(n)
            batch_rows.observe(rows)

        served.on_batch = on_batch

    def count(self, protocol: str, status: int, code: str | None, seconds: float) -> None:
        self._metrics.requests.labels(*self._labels, protocol, str(status)).inc()
        if code is not None:
            self._metrics.errors.labels(*self._labels, protocol, code).inc()
        self.latency[protocol].observe(seconds)


class Generation:
    """One lineup being served: endpoints, shadows, traffic, and its requests in flight."""

    def __init__(self, lineup: Lineup, metrics: ServingMetrics) -> None:
        self.lineup = lineup
        self.endpoints = [Endpoint(r, metrics) for r in lineup.routes]
        self.shadow_endpoints = [Endpoint(r, metrics) for r in lineup.shadows]
        self.traffic = Traffic(
            self.endpoints, [r.weight for r in lineup.routes], lineup.sticky_header
        )
        self.token = lineup.token
        self.active = 0  # requests in flight on this generation (event-loop only)

    @property
    def models(self) -> list[ServedModel]:
        return [e.served for e in (*self.endpoints, *self.shadow_endpoints)]

    @property
    def ready(self) -> bool:
        return all(e.served.ready for e in self.endpoints)

    def describe(self) -> str:
        return ", ".join(
            f"{e.route.route}={e.served.name}/{e.served.version}" for e in self.endpoints
        )
