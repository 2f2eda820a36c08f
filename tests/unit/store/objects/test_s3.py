"""What only S3 has: configuration from the environment, no temp keys, clear errors."""

from __future__ import annotations

import io
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from loopml.errors import InvalidParameterError, StoreUnavailableError
from loopml.store.objects import ObjectStore
from tests.support.s3 import S3Endpoint

from .conftest import use_fake_aws


@pytest.fixture
def fresh_s3fs_cache() -> Iterator[None]:
    """Without storage_options s3fs caches filesystems by their arguments: start clean."""
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
    yield
    s3fs.S3FileSystem.clear_instance_cache()


@pytest.mark.s3
@pytest.mark.usefixtures("fresh_s3fs_cache")
def test_endpoint_and_credentials_from_the_environment(
    s3_server: S3Endpoint, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    use_fake_aws(monkeypatch, tmp_path, s3_server)  # sets LOOPML_S3_ENDPOINT_URL and AWS_*
    bucket = s3_server.new_bucket()
    store = ObjectStore(f"s3://{bucket}/team/objects-root/")
    assert store.url == f"s3://{bucket}/team/objects-root"
    info = store.put_bytes(b"configured by env")
    assert store.get_bytes(info.hash) == b"configured by env"
    keys = [o["Key"] for o in s3_server.client().list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == [f"team/objects-root/objects/{info.hash[:2]}/{info.hash[2:]}"]


@pytest.mark.s3
def test_uploads_go_straight_to_their_final_key(
    s3_store: ObjectStore, s3_server: S3Endpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    src = tmp_path / "f.bin"
    src.write_bytes(b"file" * 1000)
    infos = [
        s3_store.put_stream(io.BytesIO(b"stream" * 1000)),
        s3_store.put_file(src),
        s3_store.put_bytes(b"bytes"),
    ]
    bucket, prefix = s3_store.url.removeprefix("s3://").split("/", 1)
    listing = s3_server.client().list_objects_v2(Bucket=bucket)["Contents"]
    assert sorted(o["Key"] for o in listing) == sorted(
        f"{prefix}/objects/{i.hash[:2]}/{i.hash[2:]}" for i in infos
    )
    assert list(spool.iterdir()) == [], "local spool files are removed after upload"


@pytest.mark.s3
def test_a_missing_bucket_is_reported_on_write(
    s3_server: S3Endpoint, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    use_fake_aws(monkeypatch, tmp_path, s3_server)
    store = ObjectStore("s3://no-such-bucket-here/x", storage_options=s3_server.storage_options())
    with pytest.raises(StoreUnavailableError, match="Does the bucket exist"):
        store.put_bytes(b"x")


def test_an_unreachable_endpoint_is_store_unavailable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    dead = S3Endpoint("http://127.0.0.1:9")  # the discard port: nothing listens
    use_fake_aws(monkeypatch, tmp_path, dead)
    options = dead.storage_options() | {
        "config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 1}
    }
    store = ObjectStore("s3://bucket/x", storage_options=options)
    with pytest.raises(StoreUnavailableError, match="cannot be reached") as caught:
        store.exists("0" * 64)
    assert caught.value.code == "STORE_UNAVAILABLE"


def test_missing_s3fs_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "s3fs", None)  # makes `import s3fs` fail
    with pytest.raises(StoreUnavailableError, match=r"pip install 'loopml\[s3\]'"):
        ObjectStore("s3://bucket/prefix")


def test_url_without_a_bucket() -> None:
    with pytest.raises(InvalidParameterError, match="names no bucket"):
        ObjectStore("s3://", storage_options={"skip_instance_cache": True})


def test_unknown_protocol() -> None:
    with pytest.raises(InvalidParameterError, match="not a usable object store URL"):
        ObjectStore("nosuchprotocol://x/y")


def test_explicit_options_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from loopml.store.objects.remote import resolve_storage_options

    monkeypatch.setenv("LOOPML_S3_ENDPOINT_URL", "http://from-env:9000")
    assert resolve_storage_options("s3://b", None) == {
        "client_kwargs": {"endpoint_url": "http://from-env:9000"},
        "use_listings_cache": False,
    }
    explicit = {"client_kwargs": {"endpoint_url": "http://explicit:9000"}}
    assert resolve_storage_options("s3://b", explicit)["client_kwargs"] == explicit["client_kwargs"]
    assert (
        resolve_storage_options("s3://b", {"endpoint_url": "http://x"}).get("client_kwargs") is None
    )
    assert resolve_storage_options("memory://b", None) == {}


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_server_that_cannot_start_skips_locally_and_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import tests.support.s3 as support

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(support.ServiceUnavailableError), support.moto_s3(port=port):
            pass
    monkeypatch.setattr(support, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception):
        support.s3_unavailable("test")
    monkeypatch.setattr(support, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception):
        support.s3_unavailable("test")
