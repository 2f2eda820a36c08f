"""One HTTP connection pool to a loopml server, with its error envelope turned back into the
typed ``LoopmlError`` the server raised, and retries with backoff on connection failures.

A request is retried only when repeating it is harmless: any request that never reached the
server (connect errors), and any request marked ``idempotent`` (reads, PUT/DELETE, and metric
batches, which carry an idempotency key) on every transport error or 503.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from loopml.errors import LoopmlError, StoreUnavailableError, error_from_code

if TYPE_CHECKING:
    import httpx

TOKEN_ENV = "LOOPML_TOKEN"  # noqa: S105 (the name of a variable)
ATTEMPTS = 8  # ~5 s of backoff: rides out a server restart
TIMEOUT_S = 120.0


_BY_STATUS = {401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "RESOURCE_NOT_FOUND"}
_BY_STATUS.update(dict.fromkeys((500, 502, 503, 504), "STORE_UNAVAILABLE"))


def _raise_for(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        body = orjson.loads(response.read())
        err = body["error"]
        code, message = str(err["code"]), str(err["message"])
        details = err.get("details") or {}
    except (orjson.JSONDecodeError, KeyError, TypeError):  # e.g. HEAD: no body at all
        code, message, details = (
            _BY_STATUS.get(response.status_code, "INVALID_PARAMETER"),
            f"the server answered {response.status_code} without a loopml error: "
            f"{response.text[:200]!r}",
            {},
        )
    raise error_from_code(code, message, **details)


class HttpClient:
    def __init__(self, base_url: str, token: str | None = None) -> None:
        import httpx

        self.base_url = base_url.rstrip("/")
        token = token if token is not None else os.environ.get(TOKEN_ENV)
        headers = {"user-agent": "loopml"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        self._httpx = httpx
        self.client = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(TIMEOUT_S, connect=10.0),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
        )

    def close(self) -> None:
        self.client.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """Send, retrying as the module says; raise the typed error of an error answer."""
        all_headers = dict(headers or {})
        if json is not None:
            content = orjson.dumps(json)
            all_headers["content-type"] = "application/json"
        retry_all = method in ("GET", "HEAD", "PUT", "DELETE") if idempotent is None else idempotent
        if content is not None and not isinstance(content, bytes):
            retry_all = False  # a streamed body cannot be sent twice
        response = self._send(
            lambda: self.client.request(
                method, path, content=content, params=params, headers=all_headers
            ),
            retry_all,
        )
        _raise_for(response)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        return orjson.loads(response.content) if response.content else None

    def _send(self, send: Callable[[], httpx.Response], retry_all: bool) -> httpx.Response:
        lib = self._httpx
        delay = 0.05
        for attempt in range(ATTEMPTS):
            try:
                response = send()
            except lib.TransportError as exc:
                never_sent = isinstance(exc, lib.ConnectError | lib.ConnectTimeout)
                if attempt == ATTEMPTS - 1 or not (never_sent or retry_all):
                    raise StoreUnavailableError(
                        f"cannot reach the loopml server at {self.base_url}: {exc}. Is "
                        "`loopml server` running, and is LOOPML_TRACKING_URI right?"
                    ) from exc
            else:
                if response.status_code != 503 or not retry_all or attempt == ATTEMPTS - 1:
                    return response
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 2.0)
        raise AssertionError("unreachable")  # pragma: no cover

    def stream(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A response whose body is read lazily (the caller closes it); errors raised typed."""
        request = self.client.build_request(method, path, **kwargs)
        response = self._send(lambda: self.client.send(request, stream=True), method == "GET")
        if response.status_code >= 400:
            try:
                _raise_for(response)
            finally:
                response.close()
        return response


__all__ = ["HttpClient", "LoopmlError"]
