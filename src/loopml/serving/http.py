"""The HTTP edges every prediction route shares: request id, body limit, auth, error envelope.

Errors use the server's one envelope, ``{"error": {"code", "message"}}``, with statuses from
:data:`loopml.errors.HTTP_STATUS`: bad input is a 4xx that says what to fix, never a 500.
"""

from __future__ import annotations

import hmac
import re
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from loopml.errors import HTTP_STATUS, InvalidParameterError, LoopmlError, UnauthenticatedError
from loopml.serving.codec import dumps

__all__ = [
    "HttpError",
    "PayloadTooLargeError",
    "check_token",
    "error_response",
    "read_body",
    "request_id",
]

_SANE_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")


class HttpError(Exception):
    """A condition only the HTTP layer has (too large, overloaded): its own code and status,
    outside :class:`LoopmlError`'s codes, as the server's envelope does for 413 and 405."""

    code = "INTERNAL_ERROR"
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PayloadTooLargeError(HttpError):
    code = "PAYLOAD_TOO_LARGE"
    status = 413


def request_id(request: Request) -> str:
    given = request.headers.get("x-request-id", "")
    return given if _SANE_ID.match(given) else uuid.uuid4().hex


async def read_body(request: Request, limit: int) -> bytes:
    """The body, or a 413 as soon as it passes ``limit`` bytes (declared or streamed)."""
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise InvalidParameterError("the Content-Length header is not a number")
        if int(length) > limit:
            raise _too_large(limit)
        return await request.body()
    chunks, seen = [], 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def check_token(request: Request, token: str | None) -> None:
    if token is None:
        return
    given = request.headers.get("authorization", "")
    scheme, _, secret = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(secret.encode(), token.encode()):
        raise UnauthenticatedError(
            "this model server needs a token: send 'Authorization: Bearer <token>'"
        )


def error_response(exc: LoopmlError | HttpError, headers: dict[str, str] | None = None) -> Response:
    body: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if isinstance(exc, LoopmlError):
        details = {k: v for k, v in exc.details.items() if isinstance(v, str | int | float | bool)}
        if details:
            body["details"] = details
        status = HTTP_STATUS.get(exc.code, 500)
    else:
        status = exc.status
    return Response(
        dumps({"error": body}),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def _too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"the request body is larger than this server's limit of {limit:,} bytes: send fewer "
        "rows per request (or start the server with a larger --max-body-mb)"
    )
