"""The inference app: MLflow's ``/invocations`` and the Open Inference Protocol (``/v2``).

A plain Starlette app (no per-request dependency solving: the floor is a bare ``predict``).
Decoding and signature checks run on the event loop for small bodies and in a thread for large
ones; ``predict`` always runs on the batcher's worker thread, never on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from loopml.errors import HTTP_STATUS, InvalidParameterError, LoopmlError, NotFoundError
from loopml.serving import codec
from loopml.serving.feedback import feedback_route
from loopml.serving.http import HttpError, check_token, error_response, read_body, request_id
from loopml.serving.lineup import Endpoint, Event, Generation, Lineup, Observer, ServedRoute, Source
from loopml.serving.metrics import CONTENT_TYPE, ServingMetrics
from loopml.serving.model import ServedModel
from loopml.serving.reload import Reloader, Switch

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
    reload_interval_s: float = 1.0  # how often a ``source`` is polled for a new lineup


def create_app(
    models: Sequence[ServedModel | ServedRoute] | Lineup,
    options: AppOptions | None = None,
    *,
    shadows: Sequence[ServedRoute] = (),
    observer: Observer | None = None,
    source: Source | None = None,
) -> Starlette:
    """An app serving ``models``: plain models (the first answers ``/invocations``; each is on
    ``/v2`` by name) or the weighted routes of a deployment, plus ``shadows`` that get a copy
    of every request off the request path (their answers are observed, never returned).

    With a ``source`` the app polls it and hot-swaps to each new lineup that passes its smoke
    test (``models`` is then the source's first :class:`Lineup`)."""
    opts = options or AppOptions()
    if isinstance(models, Lineup):
        lineup = models
    else:
        routes = [
            m if isinstance(m, ServedRoute) else ServedRoute(m.name, m, 100 if i == 0 else 0)
            for i, m in enumerate(models)
        ]
        lineup = Lineup(routes, list(shadows), opts.sticky_header, opts.token)
    if not lineup.routes:
        raise InvalidParameterError("a serving app needs at least one model")
    metrics = ServingMetrics()
    if observer is not None:
        metrics.watch_dropped(lambda: float(observer.dropped))
    switch = Switch(Generation(lineup, metrics))
    shadow_tasks: set[asyncio.Task[None]] = set()

    async def shadow_copy(
        endpoint: Endpoint, data: Any, body: bytes, rid: str, protocol: str, ctype: str
    ) -> None:
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
            observer.observe(
                _event(endpoint, rid, status, seconds, protocol, ctype, body, output, True)
            )

    def start_shadows(
        gen: Generation, data: Any, body: bytes, rid: str, protocol: str, ctype: str
    ) -> None:
        for endpoint in gen.shadow_endpoints:
            if len(shadow_tasks) >= opts.max_shadow_tasks:
                endpoint.count("shadow", 503, "SHADOW_DROPPED", 0.0)
                continue
            task = asyncio.get_running_loop().create_task(
                shadow_copy(endpoint, data, body, rid, protocol, ctype)
            )
            shadow_tasks.add(task)
            task.add_done_callback(shadow_tasks.discard)

    async def predict(
        request: Request,
        gen: Generation,
        endpoint: Endpoint,
        protocol: str,
        decode: Callable[[bytes, Request, Endpoint], Any],
        encode: Callable[[Any, str, Endpoint], bytes],
    ) -> Response:
        start = time.perf_counter()
        hosted = request.scope.get("state", {}).get("request_id")  # mounted in loopml server
        rid = hosted or request_id(request)
        headers = {"x-loopml-model-version": endpoint.version_header}
        if hosted is None:  # else the host's middleware sends the header
            headers["x-request-id"] = rid
        code: str | None = None
        body = b""
        output: bytes | None = None
        ctype = request.headers.get("content-type", "")
        try:
            check_token(request, gen.token)
            body = await read_body(request, opts.max_body_bytes)
            served = endpoint.served
            if len(body) <= _INLINE_BYTES:
                data = decode(body, request, endpoint)
                prepared, rows = served.prepare(data)
            else:
                data = await asyncio.to_thread(decode, body, request, endpoint)
                prepared, rows = await asyncio.to_thread(served.prepare, data)
            if gen.shadow_endpoints:
                start_shadows(gen, data, body, rid, protocol, ctype)
            result = await served.batcher.submit(prepared, rows)
            answer = encode(result, rid, endpoint)
            if observer is not None:
                output = answer if protocol == "mlflow" else codec.encode_predictions(result)
            response = Response(answer, media_type=JSON, headers=headers)
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
            observer.observe(
                _event(endpoint, rid, response.status_code, seconds, protocol, ctype, body, output)
            )
        return response

    def mlflow_decode(body: bytes, request: Request, _e: Endpoint) -> Any:
        if request.headers.get("content-type", "").startswith("text/csv"):
            return codec.decode_csv(body)
        return codec.decode_invocations(codec.decode_json(body))

    def mlflow_encode(result: Any, _rid: str, _e: Endpoint) -> bytes:
        return codec.encode_predictions(result)

    def v2_decode(body: bytes, _request: Request, endpoint: Endpoint) -> Any:
        return codec.decode_v2(codec.decode_json(body), endpoint.served.names)

    def v2_encode(result: Any, rid: str, endpoint: Endpoint) -> bytes:
        return codec.dumps(
            {
                "model_name": opts.name or endpoint.served.name,
                "model_version": endpoint.served.version,
                "id": rid,
                "outputs": codec.v2_outputs(result),
            }
        )

    async def invocations(request: Request) -> Response:
        gen = switch.current  # this request's lineup, from start to end
        gen.active += 1
        try:
            endpoint = gen.traffic.pick(request.headers)
            return await predict(request, gen, endpoint, "mlflow", mlflow_decode, mlflow_encode)
        finally:
            gen.active -= 1

    def find(request: Request, gen: Generation, route: bool = True) -> Endpoint:
        endpoints = gen.endpoints
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
            picked: Endpoint = gen.traffic.pick(request.headers)
            return picked
        return found[0]

    async def v2_infer(request: Request) -> Response:
        gen = switch.current
        gen.active += 1
        try:
            try:
                endpoint = find(request, gen)
            except LoopmlError as exc:
                return error_response(exc)
            return await predict(request, gen, endpoint, "v2", v2_decode, v2_encode)
        finally:
            gen.active -= 1

    async def v2_model(request: Request) -> Response:
        gen = switch.current
        try:
            endpoint = find(request, gen, route=False)
        except LoopmlError as exc:
            return error_response(exc)
        name = request.path_params["name"]
        versions = sorted(
            {e.served.version for e in gen.endpoints if name in (opts.name, e.served.name)}
        )
        return _json(_v2_metadata(endpoint.served, name, versions))

    async def v2_model_ready(request: Request) -> Response:
        try:
            served = find(request, switch.current, route=False).served
        except LoopmlError as exc:
            return error_response(exc)
        return _json({"name": served.name, "ready": served.ready}, 200 if served.ready else 503)

    async def live(_: Request) -> Response:
        return _json({"live": True})

    async def ready(_: Request) -> Response:
        ok = switch.current.ready
        return _json({"ready": ok}, 200 if ok else 503)

    async def server_meta(_: Request) -> Response:
        from loopml._version import __version__

        return _json({"name": "loopml", "version": __version__, "extensions": []})

    async def metrics_route(_: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        first = switch.current
        for endpoint in first.endpoints:
            if not endpoint.served.ready:
                await asyncio.to_thread(endpoint.served.smoke_test)
        for endpoint in first.shadow_endpoints:  # a broken shadow must not keep the service down
            try:
                await asyncio.to_thread(endpoint.served.smoke_test)
            except Exception as exc:
                log.warning("shadow %s failed its smoke test: %s", endpoint.route.uri, exc)
        poller: asyncio.Task[None] | None = None
        if source is not None and opts.reload_interval_s > 0:
            reloader = Reloader(source, switch, metrics, interval_s=opts.reload_interval_s)
            poller = asyncio.get_running_loop().create_task(reloader.run())
        yield
        if poller is not None:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
        if shadow_tasks:
            await asyncio.wait(list(shadow_tasks), timeout=5)
        await switch.close()
        if observer is not None:
            await asyncio.to_thread(observer.close)

    app_routes = [
        Route("/invocations", invocations, methods=["POST"]),
        feedback_route(opts),  # labels for monitoring (loopml.serving.feedback)
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
    app.state.switch = switch  # ``switch.current.models``: what serves right now
    app.state.metrics = metrics
    return app


def _event(
    endpoint: Endpoint,
    rid: str,
    status: int,
    seconds: float,
    protocol: str,
    ctype: str,
    body: bytes,
    output: bytes | None,
    shadow: bool = False,
) -> Event:
    route = endpoint.route
    return Event(
        rid,
        route.route,
        route.uri,
        endpoint.version_header,
        status,
        seconds * 1000,
        time.time_ns() // 1_000_000,
        shadow,
        protocol,
        ctype,
        body,
        output,
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
