"""``POST /feedback`` on the serving app: labels stored, bad bodies are 4xx, never a 5xx."""

from __future__ import annotations

import contextlib
from pathlib import Path

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.testclient import TestClient

from loopml.errors import AlreadyExistsError
from loopml.serving.app import AppOptions
from loopml.serving.deployments import create_deployment
from loopml.serving.feedback import feedback_route
from loopml.store.metadata.monitoring_sql import SqlMonitoringStore
from loopml.tracking.context import get_context

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
ITEM = st.fixed_dictionaries(
    {"request_id": st.text(min_size=0, max_size=140) | st.integers(0, 10), "label": JSON},
    optional={"row": st.integers(min_value=-2, max_value=3) | st.text(max_size=2)},
)


def _client(name: str | None, token: str | None = None) -> TestClient:
    options = AppOptions(name=name, token=token, max_body_bytes=4096)
    return TestClient(Starlette(routes=[feedback_route(options)]))


def test_labels_are_stored_and_checked(project: Path) -> None:
    create_deployment("svc", "models:/churn/1")
    client = _client("svc", token="s3cret")
    assert client.post("/feedback", json={"request_id": "a", "label": 1}).status_code == 401
    auth = {"authorization": "Bearer s3cret"}
    r = client.post("/feedback", json=[{"request_id": "a", "label": [1, 0]}], headers=auth)
    assert r.status_code == 200 and r.json() == {"deployment": "svc", "recorded": 2}
    store = SqlMonitoringStore(get_context().metadata.engine)  # type: ignore[attr-defined]
    assert sorted(store.get_feedback("svc", ["a"])) == [("a", 0, "1"), ("a", 1, "0")]
    r = client.post("/feedback", content=b"{nope", headers=auth)
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]["message"]
    r = client.post("/feedback", content=b"x" * 5000, headers=auth)
    assert r.status_code == 413
    anonymous = _client(None)
    r = anonymous.post("/feedback", json={"request_id": "a", "label": 1})
    assert r.status_code == 400 and "?deployment=" in r.json()["error"]["message"]
    r = anonymous.post("/feedback?deployment=nope", json={"request_id": "a", "label": 1})
    assert r.status_code == 404


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.one_of(JSON, ITEM, st.lists(ITEM, max_size=3)))
def test_fuzzed_bodies_never_fail_the_server(project: Path, body: object) -> None:
    with contextlib.suppress(AlreadyExistsError):  # created by an earlier example
        create_deployment("svc", "models:/churn/1")
    r = _client("svc").post("/feedback", content=orjson.dumps(body))
    assert r.status_code in (200, 400), (body, r.text)
