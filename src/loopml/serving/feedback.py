"""``POST /feedback`` on the serving app: ground-truth labels for answered requests.

The body is ``{"request_id": "...", "label": 1}`` or a list of such objects (``"row"`` picks
one row of a multi-row request; a list ``label`` labels every row). Labels are stored for the
deployment this app serves and joined into its monitoring windows by request id. Writing runs
in a thread, never on the event loop; bad input is a 400 that says what to send.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from loopml.errors import InvalidParameterError, LoopmlError
from loopml.serving.http import HttpError, check_token, error_response, read_body

if TYPE_CHECKING:
    from loopml.serving.app import AppOptions

__all__ = ["feedback_route"]

MAX_FEEDBACK_BYTES = 16 << 20


def feedback_route(options: AppOptions) -> Route:
    """The route, bound to the app's deployment name, token and body limit."""

    async def feedback(request: Request) -> Response:
        try:
            check_token(request, options.token)
            body = await read_body(request, min(options.max_body_bytes, MAX_FEEDBACK_BYTES))
            items, deployment = _items(body, options.name, request)
            from loopml.monitoring import record_feedback

            written = await asyncio.to_thread(record_feedback, deployment, items)
        except (LoopmlError, HttpError) as exc:
            return error_response(exc)
        return Response(
            orjson.dumps({"deployment": deployment, "recorded": written}),
            media_type="application/json",
        )

    return Route("/feedback", feedback, methods=["POST"])


def _items(body: bytes, name: str | None, request: Request) -> tuple[list[Any], str]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidParameterError(f"the feedback body is not valid JSON: {exc}") from None
    deployment = name or request.query_params.get("deployment")
    if isinstance(data, dict) and "items" in data:
        deployment = deployment or data.get("deployment")
        data = data["items"]
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise InvalidParameterError(
            'send {"request_id": "...", "label": ...} or a list of them as the feedback body'
        )
    if not isinstance(deployment, str) or not deployment:
        raise InvalidParameterError(
            "this server serves no named deployment: add ?deployment=<name> to /feedback"
        )
    return data, deployment
