"""The one JSON error envelope: ``{"error": {"code": ..., "message": ...}}``, for every failure.

``LoopmlError`` codes map to statuses through :data:`loopml.errors.HTTP_STATUS`; FastAPI's
validation errors, unknown routes, wrong methods and oversized bodies are put in the same
envelope, and anything unexpected becomes ``INTERNAL_ERROR`` without a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from loopml.errors import HTTP_STATUS, LoopmlError
from loopml.server.responses import OrjsonResponse

log = logging.getLogger("loopml.server")

# Statuses only the HTTP layer produces, with the codes a client sees for them.
HTTP_CODES: dict[int, str] = {
    400: "INVALID_PARAMETER",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "RESOURCE_NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "INVALID_PARAMETER",
    422: "INVALID_PARAMETER",
}


STATUS = {**HTTP_STATUS, "PAYLOAD_TOO_LARGE": 413, "METHOD_NOT_ALLOWED": 405}


def envelope(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return {"error": body}


def error_response(
    code: str, message: str, status: int | None = None, details: dict[str, Any] | None = None
) -> OrjsonResponse:
    return OrjsonResponse(
        envelope(code, message, details), status_code=status or STATUS.get(code, 500)
    )


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "invalid request: " + "; ".join(parts)


async def _loopml_error(_: Request, exc: Exception) -> OrjsonResponse:
    assert isinstance(exc, LoopmlError)
    details = {k: v for k, v in exc.details.items() if isinstance(v, str | int | float | bool)}
    return error_response(exc.code, exc.message, details=details)


async def _validation_error(_: Request, exc: Exception) -> OrjsonResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response("INVALID_PARAMETER", _validation_message(exc), status=422)


async def _http_error(request: Request, exc: Exception) -> OrjsonResponse:
    assert isinstance(exc, HTTPException)
    code = HTTP_CODES.get(exc.status_code, "INVALID_PARAMETER")
    if exc.status_code == 404:
        message = f"no route {request.url.path}: see /docs for the API"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}: see /docs"
    else:
        message = str(exc.detail)
    response = error_response(code, message, status=exc.status_code)
    for key, value in (exc.headers or {}).items():
        response.headers[key] = value
    return response


async def _unexpected(request: Request, exc: Exception) -> OrjsonResponse:
    log.error(
        "unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path, exc_info=exc
    )
    return error_response(
        "INTERNAL_ERROR", "the server failed unexpectedly: please report it", status=500
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(LoopmlError, _loopml_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
