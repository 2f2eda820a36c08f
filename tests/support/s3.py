"""A real S3 server for tests: moto in server mode, on 127.0.0.1 and a free port.

Usage, in a suite's conftest.py::

    from tests.support.s3 import s3_server  # noqa: F401  (a session fixture)

    def test_x(s3_server: S3Endpoint) -> None:
        bucket = s3_server.new_bucket()
        store = ObjectStore(f"s3://{bucket}/p", storage_options=s3_server.storage_options())

or directly ``with moto_s3() as endpoint: ...``. moto keeps its state per process, so two
servers in one process share buckets: give every test its own bucket (``new_bucket``).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn

import pytest

from tests.support.services import IN_CI

__all__ = ["S3Endpoint", "ServiceUnavailableError", "moto_s3", "s3_server", "s3_unavailable"]

START_TIMEOUT = 30.0


class ServiceUnavailableError(RuntimeError):
    """The S3 server could not be started."""


@dataclass(frozen=True)
class S3Endpoint:
    endpoint_url: str
    access_key_id: str = "testing"
    secret_access_key: str = "testing"
    region: str = "us-east-1"

    def env(self) -> dict[str, str]:
        """Environment variables that point boto3, s3fs and loopml at this server."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_DEFAULT_REGION": self.region,
            "LOOPML_S3_ENDPOINT_URL": self.endpoint_url,
        }

    def storage_options(self) -> dict[str, Any]:
        """fsspec/s3fs options for this server; no instance cache, so tests share no state."""
        return {
            "key": self.access_key_id,
            "secret": self.secret_access_key,
            "client_kwargs": {"endpoint_url": self.endpoint_url, "region_name": self.region},
            "skip_instance_cache": True,
        }

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            region_name=self.region,
        )

    def new_bucket(self, prefix: str = "loopml-test") -> str:
        """Create a bucket with a unique name and return the name."""
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name


@contextmanager
def moto_s3(host: str = "127.0.0.1", port: int = 0) -> Iterator[S3Endpoint]:
    """Run a moto S3 server in a thread; ``port=0`` takes a free one.

    Raises :class:`ServiceUnavailableError` if moto is missing or does not start in time.
    """
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        raise ServiceUnavailableError(f"moto[server] is not installed ({exc})") from exc
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one log line per request otherwise
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    # start() waits without a timeout, and forever if the server thread dies while binding.
    starter = threading.Thread(target=server.start, daemon=True)
    starter.start()
    deadline = time.monotonic() + START_TIMEOUT
    while starter.is_alive():
        serving = getattr(server, "_thread", None)
        if serving is not None and serving.ident is not None and not serving.is_alive():
            server._server_ready_event.set()  # release the waiting starter thread
            raise ServiceUnavailableError(f"moto could not serve on {host}:{port}")
        if time.monotonic() > deadline:
            raise ServiceUnavailableError(f"moto did not start on {host}:{port} in time")
        starter.join(0.05)
    try:
        bound_host, bound_port = server.get_host_and_port()
        endpoint = S3Endpoint(f"http://{bound_host}:{bound_port}")
        try:
            endpoint.client().list_buckets()
        except Exception as exc:
            raise ServiceUnavailableError(f"moto started but does not answer: {exc}") from exc
        yield endpoint
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Endpoint]:
    """One moto server per test process (per xdist worker).

    If it cannot start, the tests that use it skip, or fail under CI=true (DESIGN.md, Tests).
    """
    with ExitStack() as stack:
        try:
            endpoint = stack.enter_context(moto_s3())
        except ServiceUnavailableError as exc:
            s3_unavailable(str(exc))
        yield endpoint


def s3_unavailable(why: str) -> NoReturn:
    """Skip the test, or fail it under CI=true, where a missing service is a failure."""
    message = f"S3 (moto) is not available: {why}"
    if IN_CI:
        pytest.fail(f"{message}, and CI=true: this test must run in CI", pytrace=False)
    pytest.skip(message)
