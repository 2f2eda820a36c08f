"""The FastAPI application: routers under ``/api/v1``, one error envelope, middleware, state."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from loopml._version import __version__
from loopml.server.audit import AuditMiddleware
from loopml.server.config import ServerConfig
from loopml.server.envelope import install_error_handlers
from loopml.server.middleware import RequestContextMiddleware
from loopml.server.responses import OrjsonResponse
from loopml.server.routes import ROUTERS, health
from loopml.server.schemas import ErrorEnvelope
from loopml.server.state import ServerState
from loopml.serving.mount import deployments_from_env, mount_deployments
from loopml.store.metadata.idempotency import forget_old_keys

log = logging.getLogger("loopml.server")
API_PREFIX = "/api/v1"
_ENVELOPE_REF = {"$ref": "#/components/schemas/ErrorEnvelope"}


def create_app(config: ServerConfig, state: ServerState | None = None) -> FastAPI:
    """An app serving ``config``'s stores (opened and migrated now, closed at shutdown)."""
    state = state or ServerState.open(config)
    forget_old_keys(state.store)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with serving():  # deployments mounted at /serve/<name>, if any
            yield
        state.close()

    app = FastAPI(
        title="loopml",
        version=__version__,
        description='The loopml team server. Errors are `{"error": {"code", "message"}}`.',
        default_response_class=OrjsonResponse,
        lifespan=lifespan,
        responses={"default": {"model": ErrorEnvelope, "description": "an error"}},
    )
    app.state.loopml = state
    app.include_router(health.router)
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    serving = mount_deployments(app, deployments_from_env())
    install_error_handlers(app)
    app.add_middleware(AuditMiddleware, state=lambda: state)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=config.max_body_bytes)
    _document_envelope(app)
    return app


def _document_envelope(app: FastAPI) -> None:
    """Say in ``/openapi.json`` what the server really sends for invalid input: the envelope."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.get("responses", {})
                if "422" in responses:
                    responses["422"] = {
                        "description": "invalid input",
                        "content": {"application/json": {"schema": _ENVELOPE_REF}},
                    }
        schema.get("components", {}).get("schemas", {}).pop("HTTPValidationError", None)
        schema.get("components", {}).get("schemas", {}).pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
