"""Request ids and the body-size limit, as plain ASGI middleware (no per-request objects).

Every response carries ``X-Request-ID`` (the client's, if it sent a sane one) and the audit log
records it, so a user's error report leads to the server's record of the same request. JSON
bodies above the limit get 413 before they are read; streamed uploads (objects, files) are
exempt because they never sit in memory.
"""

from __future__ import annotations

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from loopml.server.envelope import envelope
from loopml.server.responses import OrjsonResponse

__all__ = ["RequestContextMiddleware"]

_SANE_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
STREAMED = re.compile(r"^/api/v1/(objects|runs/[^/]+/files/.+)$")


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = given if _SANE_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        raw_rid = rid.encode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-request-id", raw_rid)]
            await send(message)

        if STREAMED.match(scope["path"]):
            await self.app(scope, receive, send_with_id)
            return
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await self._too_large(scope, receive, send_with_id)
            return
        await self._limited(scope, receive, send_with_id)

    async def _limited(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Count a body without a length as it arrives; past the limit, answer 413 at once and
        tell the app the client left (whatever it then sends is dropped)."""
        seen = 0
        started = rejected = False

        async def counted() -> Message:
            nonlocal seen, rejected
            if rejected:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body and not started:
                    rejected = True
                    await self._too_large(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if rejected:
                return
            started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not rejected:
                raise

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = OrjsonResponse(
            envelope("PAYLOAD_TOO_LARGE", _too_large_message(self.max_body)), status_code=413
        )
        response.headers["connection"] = "close"
        await response(scope, receive, send)


def _too_large_message(limit: int) -> str:
    return (
        f"the request body is larger than the server's limit of {limit:,} bytes: send "
        "metrics in smaller batches and artifacts through /api/v1/objects (streamed)"
    )
