"""Every successful mutation is recorded once, here, not by each route.

The permission dependency calls :func:`begin` for each POST/PUT/PATCH/DELETE (it knows the
route and its parameters); an ASGI middleware completes the record just before the response
does, so a client reading the log right after a change finds it: the target (``run:<id>``,
``experiment:<id>``, ``user:<name>``, ``token:<id>``) with snapshots before (for updates,
deletes, restores) and after, a small redacted copy of a JSON request body, the caller's name
and the request id. Metric batches and object uploads are the data plane, not changes of
state, and are not recorded. Secrets never reach the log: request keys that look like
credentials are redacted, and responses (which carry new tokens) are never kept."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import anyio
import orjson
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from loopml.errors import LoopmlError
from loopml.server.state import ServerState
from loopml.store.metadata.snapshots import experiment_summary, run_summary

log = logging.getLogger("loopml.server.audit")

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
UNAUDITED = frozenset({"metrics.log", "objects.put", "runs.search"})
MAX_REQUEST_SUMMARY = 8192
MAX_RESPONSE_PEEK = 65536
_SECRET_WORDS = ("token", "secret", "password", "authorization", "credential")


def _run(state: ServerState, run_id: str) -> dict[str, Any] | None:
    return run_summary(state.store.engine, run_id)


def _experiment(state: ServerState, experiment_id: str) -> dict[str, Any] | None:
    return experiment_summary(state.store.engine, experiment_id)


def _user(state: ServerState, name: str) -> dict[str, Any]:
    u = state.auth.get_user(name)
    return {"role": u.role.value, "disabled": u.disabled}


def _token(state: ServerState, token_id: str) -> dict[str, Any]:
    for t in state.auth.list_tokens():
        if t.token_id == token_id:
            return {"user": t.user, "expires_ms": t.expires_ms, "revoked_ms": t.revoked_ms}
    return {}


# path parameter (or response key) -> (target kind, snapshot)
SNAPSHOTS: dict[str, tuple[str, Callable[[ServerState, str], dict[str, Any] | None]]] = {
    "run_id": ("run", _run),
    "experiment_id": ("experiment", _experiment),
    "user_name": ("user", _user),
    "token_id": ("token", _token),
}


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: "***" if any(w in str(k).lower() for w in _SECRET_WORDS) else redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value[:50]]
    return value


def _snapshot(state: ServerState, key: str, ident: str) -> dict[str, Any] | None:
    try:
        return SNAPSHOTS[key][1](state, ident)
    except LoopmlError:
        return None


def _target_of(params: dict[str, Any], body: Any) -> tuple[str, str] | None:
    for key in SNAPSHOTS:
        if isinstance(params.get(key), str):
            return key, params[key]
    if isinstance(body, dict):
        for key in SNAPSHOTS:
            if isinstance(body.get(key), str):
                return key, body[key]
        if isinstance(body.get("name"), str) and "role" in body:
            return "user_name", body["name"]
    return None


def begin(request: Request) -> tuple[str, str] | None:
    """Note a mutation about to run (called by the permission dependency, after routing).

    Records the action (the route's name) and its path parameters; returns the target whose
    state before the change is worth keeping (updates, deletes, restores; not appends such as
    params or tags, whose request body says it all), for :func:`snapshot_before`.
    """
    if request.method not in MUTATING:
        return None
    route = request.scope.get("route")
    action = getattr(route, "name", "") or request.url.path
    if action in UNAUDITED:
        return None
    params = dict(request.path_params)
    request.state.audit = {"action": action, "params": params, "before": None}
    target = _target_of(params, None)
    if target is None or not (request.method in ("PATCH", "DELETE") or action.endswith("restore")):
        return None
    return target


def snapshot_before(request: Request, state: ServerState, target: tuple[str, str]) -> None:
    request.state.audit["before"] = _snapshot(state, *target)


class AuditMiddleware:
    def __init__(self, app: ASGIApp, state: Callable[[], ServerState]) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in MUTATING:
            await self.app(scope, receive, send)
            return
        ctx = scope.setdefault("state", {})
        request_body = bytearray()
        response_body = bytearray()
        status = 0

        async def recv() -> Message:
            message = await receive()
            if message["type"] == "http.request" and len(request_body) <= MAX_REQUEST_SUMMARY:
                request_body.extend(message.get("body", b""))
            return message

        async def snd(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                if len(response_body) < MAX_RESPONSE_PEEK:
                    response_body.extend(message.get("body", b""))
                noted = ctx.get("audit")
                if not message.get("more_body") and noted and 200 <= status < 300:
                    # recorded before the answer completes: a client that reads the audit log
                    # right after its change finds the change there
                    await anyio.to_thread.run_sync(
                        self._record,
                        self.state(),
                        scope,
                        noted,
                        bytes(request_body),
                        bytes(response_body),
                    )
            await send(message)

        await self.app(scope, recv, snd)

    def _record(
        self,
        state: ServerState,
        scope: Scope,
        noted: dict[str, Any],
        request_body: bytes,
        response_body: bytes,
    ) -> None:
        ctx = scope.get("state", {})
        action, params, before = noted["action"], noted["params"], noted["before"]
        principal = ctx.get("principal")
        actor = principal.name if principal is not None else "unknown"
        body = _json(response_body)
        target = _target_of(params, body if isinstance(body, dict) else None)
        summary: dict[str, Any] = {}
        if before is not None:
            summary["before"] = before
        if target is not None:
            after = _snapshot(state, *target)
            if after is not None:
                summary["after"] = after
        request = _json(request_body) if len(request_body) <= MAX_REQUEST_SUMMARY else None
        if request is not None:
            summary["request"] = redact(request)
        label = f"{SNAPSHOTS[target[0]][0]}:{target[1]}" if target else scope["path"]
        try:
            state.audit.record(actor, action, label, summary, ctx.get("request_id"))
        except Exception as exc:  # the change happened; losing its record must be loud
            log.error("could not write the audit record of %s %s: %s", action, label, exc)


def _json(data: bytes) -> Any:
    if not data:
        return None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
