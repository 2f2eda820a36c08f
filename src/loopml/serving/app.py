"""The inference app: MLflow's ``/invocations`` and the Open Inference Protocol (``/v2``).

A plain Starlette app (no per-request dependency solving: the floor is a bare ``predict``).
Decoding and signature checks run on the event loop for small bodies and in a thread for large
ones; ``predict`` always runs on the batcher's worker thread, never on the loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from loopml.errors import HTTP_STATUS, InvalidParameterError, LoopmlError, NotFoundError
from loopml.serving import codec
from loopml.serving.http import HttpError, check_token, error_response, read_body, request_id
from loopml.serving.metrics import CONTENT_TYPE, ServingMetrics
from loopml.serving.model import ServedModel
from loopml.serving.traffic import Traffic

__all__ = ["AppOptions", "Event", "Observer", "ServedRoute", "create_app"]

log = logging.getLogger("loopml.serving")
_INLINE_BYTES = 32_768  # bodies up to this size are decoded on the event loop
JSON = "application/json"


@dataclass(frozen=True)
class AppOptions:
    max_body_bytes: int = 16 << 20
    token: str | None = None  # bearer token required on prediction routes, when set
    name: str | None = None  # the deployment's name, also accepted on /v2/models/{name}
    sticky_header: str | None = None  # A/B: this header's hash picks the route
    max_shadow_tasks: int = 256  # shadow copies in flight; beyond, copies are dropped


@dataclass(frozen=True)
class ServedRoute:
    """A model version on a named route of a deployment, with its share of traffic."""

    route: str
    served: ServedModel
    weight: int = 100
    uri: str = ""


@dataclass(frozen=True)
class Event:
    """One answered request (or shadow copy), for payload logs and counters."""

    request_id: str
    route: str
    model_uri: str
    model_version: str
    status: int
    latency_ms: float
    ts_ms: int
    body: bytes
    output: bytes | None
    shadow: bool = False


class Observer(Protocol):
    def observe(self, event: Event) -> None:
        """Called on the event loop: must only queue, never block."""

    def close(self) -> None:
        """Called once at shutdown, in a thread: write what is queued."""


class _Endpoint:
    """A route with pre-bound metric children (label look-ups cost more than increments)."""

    def __init__(self, route: ServedRoute, metrics: ServingMetrics) -> None:
        served = route.served
        self.route = route
        self.served = served
        labels = (served.name, served.version)
        self.version_header = served.version
        self.latency = {p: metrics.latency.labels(*labels, p) for p in _PROTOCOLS}
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


_PROTOCOLS = ("mlflow", "v2", "shadow")


def create_app(
    models: Sequence[ServedModel | ServedRoute],
    options: AppOptions | None = None,
    *,
    shadows: Sequence[ServedRoute] = (),
    observer: Observer | None = None,
) -> Starlette:
    """An app serving ``models``: plain models (the first answers ``/invocations``; each is on
    ``/v2`` by name) or the weighted routes of a deployment, plus ``shadows`` that get a copy
    of every request off the request path (their answers are observed, never returned)."""
    if not models:
        raise InvalidParameterError("a serving app needs at least one model")
    opts = options or AppOptions()
    metrics = ServingMetrics()
    routes = [
        m if isinstance(m, ServedRoute) else ServedRoute(m.name, m, 100 if i == 0 else 0)
        for i, m in enumerate(models)
    ]
    endpoints = [_Endpoint(r, metrics) for r in routes]
    shadow_endpoints = [_Endpoint(r, metrics) for r in shadows]
    everyone = [*endpoints, *shadow_endpoints]
    traffic = Traffic(endpoints, [r.weight for r in routes], opts.sticky_header)
    shadow_tasks: set[asyncio.Task[None]] = set()

    async def shadow_copy(endpoint: _Endpoint, data: Any, body: bytes, rid: str) -> None:
        start = time.perf_counter()
        status, output = 200, None
        try:
            result = await endpoint.served.predict(data)
            output = codec.encode_predictions(result)
        except (LoopmlError, HttpError) as exc:
            status = HTTP_STATUS.get(exc.code, 500) if isinstance(exc, LoopmlError) else exc.status
        except Exception as exc:  # a failing shadow is logged, never seen by the caller
            log.warning("shadow %s failed: %s", endpoint.route.uri, exc)
            status = 500
        seconds = time.perf_counter() - start
        endpoint.count("shadow", status, None if status == 200 else "SHADOW_ERROR", seconds)
        if observer is not None:
            observer.observe(_event(endpoint, rid, status, seconds, body, output, shadow=True))

    def start_shadows(data: Any, body: bytes, rid: str) -> None:
        for endpoint in shadow_endpoints:
            if len(shadow_tasks) >= opts.max_shadow_tasks:
                endpoint.count("shadow", 503, "SHADOW_DROPPED", 0.0)
                continue
            task = asyncio.get_running_loop().create_task(shadow_copy(endpoint, data, body, rid))
            shadow_tasks.add(task)
            task.add_done_callback(shadow_tasks.discard)

    async def predict(
        request: Request,
        endpoint: _Endpoint,
        protocol: str,
        decode: Callable[[bytes, Request, _Endpoint], Any],
        encode: Callable[[Any, str, _Endpoint], bytes],
    ) -> Response:
        start = time.perf_counter()
        rid = request_id(request)
        headers = {"x-request-id": rid, "x-loopml-model-version": endpoint.version_header}
        code: str | None = None
        body = b""
        output: bytes | None = None
        try:
            check_token(request, opts.token)
            body = await read_body(request, opts.max_body_bytes)
            served = endpoint.served
            if len(body) <= _INLINE_BYTES:
                data = decode(body, request, endpoint)
                prepared, rows = served.prepare(data)
            else:
                data = await asyncio.to_thread(decode, body, request, endpoint)
                prepared, rows = await asyncio.to_thread(served.prepare, data)
            if shadow_endpoints:
                start_shadows(data, body, rid)
            result = await served.batcher.submit(prepared, rows)
            output = encode(result, rid, endpoint)
            response = Response(output, media_type=JSON, headers=headers)
        except (LoopmlError, HttpError) as exc:
            code = exc.code
            response = error_response(exc, headers)
        except Exception as exc:  # a model bug: logged, answered in the envelope
            log.error("predict failed on %s", endpoint.served.name, exc_info=exc)
            code = "INTERNAL_ERROR"
            response = error_response(
                LoopmlError(f"the model failed: {type(exc).__name__}"), headers
            )
        seconds = time.perf_counter() - start
        endpoint.count(protocol, response.status_code, code, seconds)
        if observer is not None:
            observer.observe(_event(endpoint, rid, response.status_code, seconds, body, output))
        return response

    def mlflow_decode(body: bytes, request: Request, _e: _Endpoint) -> Any:
        if request.headers.get("content-type", "").startswith("text/csv"):
            return codec.decode_csv(body)
        return codec.decode_invocations(codec.decode_json(body))

    def mlflow_encode(result: Any, _rid: str, _e: _Endpoint) -> bytes:
        return codec.encode_predictions(result)

    def v2_decode(body: bytes, _request: Request, endpoint: _Endpoint) -> Any:
        return codec.decode_v2(codec.decode_json(body), endpoint.served.names)

    def v2_encode(result: Any, rid: str, endpoint: _Endpoint) -> bytes:
        return codec.dumps(
            {
                "model_name": opts.name or endpoint.served.name,
                "model_version": endpoint.served.version,
                "id": rid,
                "outputs": codec.v2_outputs(result),
            }
        )

    async def invocations(request: Request) -> Response:
        endpoint = traffic.pick(request.headers)
        return await predict(request, endpoint, "mlflow", mlflow_decode, mlflow_encode)

    def find(request: Request, route: bool = True) -> _Endpoint:
        name = request.path_params["name"]
        version = request.path_params.get("version")
        found = endpoints if name == opts.name else [e for e in endpoints if e.served.name == name]
        if not found:
            known = sorted(
                {e.served.name for e in endpoints} | ({opts.name} if opts.name else set())
            )
            raise NotFoundError(
                f"no model {name!r} here; this server has {', '.join(known)}", name=name
            )
        if version is not None:
            exact = [e for e in found if e.served.version == version]
            if not exact:
                served = ", ".join(sorted({e.served.version for e in found}))
                raise NotFoundError(
                    f"model {name!r} is served at version {served}, not {version}",
                    version=version,
                )
            return exact[0]
        if route and len(found) == len(endpoints):
            picked: _Endpoint = traffic.pick(request.headers)
            return picked
        return found[0]

    async def v2_infer(request: Request) -> Response:
        try:
            endpoint = find(request)
        except LoopmlError as exc:
            return error_response(exc)
        return await predict(request, endpoint, "v2", v2_decode, v2_encode)

    async def v2_model(request: Request) -> Response:
        try:
            endpoint = find(request, route=False)
        except LoopmlError as exc:
            return error_response(exc)
        name = request.path_params["name"]
        versions = sorted(
            {e.served.version for e in endpoints if name in (opts.name, e.served.name)}
        )
        return _json(_v2_metadata(endpoint.served, name, versions))

    async def v2_model_ready(request: Request) -> Response:
        try:
            served = find(request, route=False).served
        except LoopmlError as exc:
            return error_response(exc)
        return _json({"name": served.name, "ready": served.ready}, 200 if served.ready else 503)

    def all_ready() -> bool:
        return all(e.served.ready for e in endpoints)

    async def live(_: Request) -> Response:
        return _json({"live": True})

    async def ready(_: Request) -> Response:
        ok = all_ready()
        return _json({"ready": ok}, 200 if ok else 503)

    async def server_meta(_: Request) -> Response:
        from loopml._version import __version__

        return _json({"name": "loopml", "version": __version__, "extensions": []})

    async def metrics_route(_: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        for endpoint in endpoints:
            if not endpoint.served.ready:
                await asyncio.to_thread(endpoint.served.smoke_test)
        for endpoint in shadow_endpoints:  # a broken shadow must not keep the service down
            try:
                await asyncio.to_thread(endpoint.served.smoke_test)
            except Exception as exc:
                log.warning("shadow %s failed its smoke test: %s", endpoint.route.uri, exc)
        yield
        if shadow_tasks:
            await asyncio.wait(list(shadow_tasks), timeout=5)
        for endpoint in everyone:
            await endpoint.served.batcher.close()
        if observer is not None:
            await asyncio.to_thread(observer.close)

    app_routes = [
        Route("/invocations", invocations, methods=["POST"]),
        Route("/ping", live, methods=["GET"]),
        Route("/health", live, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Route("/metrics", metrics_route, methods=["GET"]),
        Route("/v2", server_meta, methods=["GET"]),
        Route("/v2/health/live", live, methods=["GET"]),
        Route("/v2/health/ready", ready, methods=["GET"]),
        Route("/v2/models/{name}", v2_model, methods=["GET"]),
        Route("/v2/models/{name}/ready", v2_model_ready, methods=["GET"]),
        Route("/v2/models/{name}/versions/{version}", v2_model, methods=["GET"]),
        Route("/v2/models/{name}/infer", v2_infer, methods=["POST"]),
        Route("/v2/models/{name}/versions/{version}/infer", v2_infer, methods=["POST"]),
    ]
    app = Starlette(
        routes=app_routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, Exception: _unexpected},
    )
    app.state.models = [e.served for e in everyone]
    app.state.metrics = metrics
    return app


def _event(
    endpoint: _Endpoint,
    rid: str,
    status: int,
    seconds: float,
    body: bytes,
    output: bytes | None,
    shadow: bool = False,
) -> Event:
    return Event(
        request_id=rid,
        route=endpoint.route.route,
        model_uri=endpoint.route.uri,
        model_version=endpoint.served.version,
        status=status,
        latency_ms=seconds * 1000,
        ts_ms=time.time_ns() // 1_000_000,
        body=body,
        output=output,
        shadow=shadow,
    )


def _v2_metadata(served: ServedModel, name: str, versions: list[str]) -> dict[str, Any]:
    signature = served.model.signature
    body: dict[str, Any] = {
        "name": name,
        "versions": versions,
        "platform": f"loopml-{served.model.flavor}",
        "inputs": _v2_schema(signature.inputs if signature else None),
        "outputs": _v2_schema(signature.outputs if signature else None),
    }
    return body


def _v2_schema(schema: Any) -> list[dict[str, Any]]:
    if schema is None:
        return []
    if schema.kind == "columns":
        return [
            {"name": c.name, "datatype": _v2_type(c.dtype), "shape": [-1]} for c in schema.columns
        ]
    return [{"name": "input", "datatype": _v2_type(schema.dtype), "shape": list(schema.shape)}]


def _v2_type(dtype: str | None) -> str:
    for v2, numpy_name in codec.V2_DTYPES.items():
        if numpy_name == dtype:
            return v2
    return "BYTES"


def _json(body: Any, status: int = 200) -> Response:
    return Response(codec.dumps(body), status_code=status, media_type=JSON)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        error: LoopmlError = NotFoundError(f"no route {request.url.path} on this model server")
    elif exc.status_code == 405:
        error = InvalidParameterError(f"{request.method} is not allowed on {request.url.path}")
        return Response(
            codec.dumps({"error": {"code": "METHOD_NOT_ALLOWED", "message": error.message}}),
            status_code=405,
            media_type=JSON,
        )
    else:
        error = InvalidParameterError(str(exc.detail))
    return error_response(error)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.error("unexpected %s on %s", type(exc).__name__, request.url.path, exc_info=exc)
    return Response(
        codec.dumps(
            {"error": {"code": "INTERNAL_ERROR", "message": "the model server failed unexpectedly"}}
        ),
        status_code=500,
        media_type=JSON,
    )
