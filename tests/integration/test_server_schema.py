"""Schemathesis generates requests from /openapi.json: no 5xx, and answers match the schema."""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from loopml.server import ServerConfig, create_app

MAX_EXAMPLES = 12  # per operation: bounded so the suite stays quick

_folder = Path(tempfile.mkdtemp(prefix="loopml-schema-"))
schema = schemathesis.openapi.from_asgi(
    "/openapi.json",
    create_app(ServerConfig(f"sqlite:///{_folder / 's.db'}", str(_folder / "objects"))),
)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms(case: schemathesis.Case) -> None:
    case.call_and_validate(
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ]
    )


def test_integers_past_64_bits_are_a_400_not_a_500(tmp_path: Path) -> None:
    """Found by the fuzzing above: JSON bodies stored as-is must fit orjson's 64-bit ints."""
    from starlette.testclient import TestClient

    app = create_app(ServerConfig(f"sqlite:///{tmp_path / 's.db'}", str(tmp_path / "objects")))
    huge = b'{"profile": {"": -9223372036854775809}}'
    with TestClient(app) as client:
        answer = client.put(
            "/api/v1/data/datasets/0/versions/1/profile",
            content=huge,
            headers={"content-type": "application/json"},
        )
        assert answer.status_code == 400
        assert "64-bit" in answer.json()["error"]["message"]
