"""Fixtures of the object-store suite: a store per test, on a local folder and on S3 (moto)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from loopml.store.objects import ObjectStore
from tests.support.s3 import S3Endpoint, s3_server  # noqa: F401  (a session fixture)


def use_fake_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, endpoint: S3Endpoint) -> None:
    """Point botocore at the moto server only: no real profile or credentials file leaks in."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    for name, value in endpoint.env().items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def local_store(tmp_path: Path) -> ObjectStore:
    return ObjectStore(str(tmp_path / "store"))


@pytest.fixture
def s3_store(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> ObjectStore:
    endpoint: S3Endpoint = request.getfixturevalue("s3_server")
    use_fake_aws(monkeypatch, tmp_path, endpoint)
    bucket = endpoint.new_bucket()
    return ObjectStore(f"s3://{bucket}/loopml", storage_options=endpoint.storage_options())


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def store(request: pytest.FixtureRequest) -> Iterator[ObjectStore]:
    """The same suite runs against every backend."""
    yield request.getfixturevalue(f"{request.param}_store")
