"""What a deployment is: weighted routes to model versions, an optional sticky A/B key,
shadow targets, batching, workers and payload logging, as checked, JSON-ready dataclasses.

A canary is two routes (``main`` and ``canary``) with weights; an A/B test is two routes (``a``
and ``b``) and a ``sticky_header`` whose hash picks the route, so one user always sees one
version. Weights are whole percents and add up to 100.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from loopml.errors import InvalidParameterError
from loopml.uris import ModelURI, parse_uri

__all__ = ["Batching", "DeploymentConfig", "Route"]

_SCHEMES = ("models:/", "runs:/", "obj:")


MAX_WORKERS = 256
MAX_BATCH = 1_000_000
MAX_QUEUE = 10_000_000


@dataclass(frozen=True)
class Route:
    name: str
    model: str  # a model URI
    weight: int = 100

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "model": self.model, "weight": self.weight}


@dataclass(frozen=True)
class Batching:
    enabled: bool = True
    max_batch_size: int = 256
    max_queue: int = 1024

    def to_dict(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "max_batch_size": self.max_batch_size,
            "max_queue": self.max_queue,
        }


@dataclass(frozen=True)
class DeploymentConfig:
    routes: tuple[Route, ...]
    sticky_header: str | None = None
    shadows: tuple[str, ...] = ()
    batching: Batching = field(default_factory=Batching)
    workers: int = 1
    payload_logging: bool = True
    auth: bool = False  # require LOOPML_SERVING_TOKEN as a bearer token

    def __post_init__(self) -> None:
        self.check()

    @classmethod
    def single(cls, model: str, **kw: Any) -> DeploymentConfig:
        return cls(routes=(Route("main", model, 100),), **kw)

    @property
    def kind(self) -> str:
        names = {r.name for r in self.routes}
        if len(self.routes) == 1:
            return "single"
        return "canary" if "canary" in names else "ab" if self.sticky_header else "split"

    def check(self) -> None:
        if not self.routes:
            raise InvalidParameterError("a deployment needs at least one route (--model)")
        names = [r.name for r in self.routes]
        if len(set(names)) != len(names):
            raise InvalidParameterError(f"route names must differ, got {names}")
        for route in self.routes:
            _check_uri(route.model)
            if not 0 <= route.weight <= 100:
                raise InvalidParameterError(
                    f"route {route.name!r} has weight {route.weight}: use 0-100 (percent)"
                )
        total = sum(r.weight for r in self.routes)
        if total != 100:
            raise InvalidParameterError(
                f"route weights add up to {total}, not 100: "
                + ", ".join(f"{r.name}={r.weight}" for r in self.routes)
            )
        for uri in self.shadows:
            _check_uri(uri)
        if not 1 <= self.workers <= MAX_WORKERS:
            raise InvalidParameterError(f"workers must be 1-{MAX_WORKERS}, got {self.workers}")
        b = self.batching
        if not (1 <= b.max_batch_size <= MAX_BATCH and 1 <= b.max_queue <= MAX_QUEUE):
            raise InvalidParameterError(
                f"max_batch_size must be 1-{MAX_BATCH} and max_queue 1-{MAX_QUEUE}, "
                f"got {b.max_batch_size} and {b.max_queue}"
            )
        if self.sticky_header is not None and not _is_header(self.sticky_header):
            raise InvalidParameterError(
                f"{self.sticky_header!r} is not an HTTP header name", header=self.sticky_header
            )

    def with_routes(self, routes: list[Route]) -> DeploymentConfig:
        return replace(self, routes=tuple(routes))

    def to_dict(self) -> dict[str, Any]:
        return {
            "routes": [r.to_dict() for r in self.routes],
            "sticky_header": self.sticky_header,
            "shadows": list(self.shadows),
            "batching": self.batching.to_dict(),
            "workers": self.workers,
            "payload_logging": self.payload_logging,
            "auth": self.auth,
        }

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> DeploymentConfig:
        try:
            return cls(
                routes=tuple(
                    Route(str(r["name"]), str(r["model"]), int(r["weight"])) for r in body["routes"]
                ),
                sticky_header=body.get("sticky_header"),
                shadows=tuple(str(s) for s in body.get("shadows", ())),
                batching=Batching(**body.get("batching", {})),
                workers=int(body.get("workers", 1)),
                payload_logging=bool(body.get("payload_logging", True)),
                auth=bool(body.get("auth", False)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, InvalidParameterError):
                raise
            raise InvalidParameterError(f"not a deployment configuration: {exc}") from None


def _check_uri(uri: str) -> None:
    if not uri.startswith(_SCHEMES):
        raise InvalidParameterError(
            f"{uri!r} is not a stored model: use models:/<name>/<version>, "
            "models:/<name>@<alias>, runs:/<run_id>/model or obj:<hash>",
            uri=uri,
        )
    parsed = parse_uri(uri)  # raises with the accepted forms
    if uri.startswith("models:/") and not isinstance(parsed, ModelURI):
        raise InvalidParameterError(f"{uri!r} is not a model URI", uri=uri)


def _is_header(name: str) -> bool:
    return bool(name) and len(name) <= 128 and all(c.isalnum() or c in "-_" for c in name)
