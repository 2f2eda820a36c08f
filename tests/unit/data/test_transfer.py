"""push and pull: only missing objects move, to a folder or S3 (moto); failures are clear."""

from __future__ import annotations

import shutil
import socket
import time
from pathlib import Path

import pytest

from loopml import data
from loopml.errors import InvalidParameterError, StoreUnavailableError
from loopml.store.objects import ObjectStore
from loopml.tracking.context import get_context
from tests.support.s3 import S3Endpoint, s3_server  # noqa: F401  (a session fixture)
from tests.unit.data.versioning_support import write_files, write_table


def _fake_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, endpoint_url: str) -> None:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    env = S3Endpoint(endpoint_url).env()
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def _versions(project: Path) -> None:
    write_files(project / "imgs", {f"{i}.bin": f"image {i}" * 100 for i in range(6)})
    data.add("imgs")
    write_table(project / "t.parquet", rows=20)
    data.add("t.parquet")


def _forget_local_objects() -> None:
    shutil.rmtree(Path(get_context().settings.object_store) / "objects")


def test_push_then_pull_through_a_folder_remote(project: Path, tmp_path: Path) -> None:
    _versions(project)
    remote = str(tmp_path / "remote")
    first = data.push(remote=remote)
    assert first.moved == first.objects == 6 + 1 + 2  # files + parquet + two manifests
    again = data.push(remote=remote)
    assert (again.moved, again.present) == (0, first.objects)

    _forget_local_objects()
    pulled = data.pull(["imgs"], remote=remote)
    assert pulled.moved == 7 and pulled.versions == ["data:/imgs/1"]
    data.checkout("imgs@1", project / "back")
    assert (project / "back" / "3.bin").read_text() == "image 3" * 100
    assert data.pull(remote=remote).moved == 2  # the table's file and manifest
    assert len(data.read_table("data:/t@latest")) == 20


def test_remote_comes_from_the_environment(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _versions(project)
    with pytest.raises(InvalidParameterError, match="no data remote configured"):
        data.push()
    monkeypatch.setenv("LOOPML_DATA_REMOTE", str(tmp_path / "env-remote"))
    assert data.push(["t@1"]).moved == 2


def test_transient_failures_are_retried(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _versions(project)
    real = ObjectStore.put_stream
    failures = {"left": 3}

    def flaky(self: ObjectStore, stream: object) -> object:
        if "remote" in self.url and failures["left"] > 0:
            failures["left"] -= 1
            raise StoreUnavailableError("connection reset by peer")
        return real(self, stream)  # type: ignore[arg-type]

    monkeypatch.setattr(ObjectStore, "put_stream", flaky)
    report = data.push(remote=str(tmp_path / "remote"))
    assert failures["left"] == 0 and report.moved == report.objects == 9


@pytest.mark.s3
def test_push_and_pull_with_s3(
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    s3_server: S3Endpoint,  # noqa: F811
) -> None:
    _fake_aws(monkeypatch, tmp_path, s3_server.endpoint_url)
    bucket = s3_server.new_bucket()
    remote = f"s3://{bucket}/team/data"
    _versions(project)
    report = data.push(remote=remote)
    assert report.moved == 9
    keys = s3_server.client().list_objects_v2(Bucket=bucket, Prefix="team/data/objects/")
    assert keys["KeyCount"] == 9
    assert data.push(remote=remote).moved == 0
    _forget_local_objects()
    assert data.pull(remote=remote).moved == 9
    assert get_context().objects.verify_all() == []
    assert len(data.read_table("data:/t/1")) == 20


def test_unreachable_s3_endpoint_fails_clearly(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("s3fs")
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    _fake_aws(monkeypatch, tmp_path, f"http://127.0.0.1:{port}")
    _versions(project)
    start = time.monotonic()
    with pytest.raises(StoreUnavailableError, match=r"s3://nowhere/x cannot be reached"):
        data.push(remote="s3://nowhere/x")
    assert time.monotonic() - start < 60


@pytest.mark.s3
def test_versions_on_an_s3_object_store(
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    s3_server: S3Endpoint,  # noqa: F811
) -> None:
    """With LOOPML_OBJECT_STORE on S3, add, read_table and checkout go through the store API."""
    import loopml

    _fake_aws(monkeypatch, tmp_path, s3_server.endpoint_url)
    bucket = s3_server.new_bucket()
    loopml.configure(project, object_store=f"s3://{bucket}/store")
    write_files(project / "imgs", {"a.bin": b"a" * 100, "b/c.bin": b"c" * (2 << 20)})
    v = data.add("imgs")
    assert v.file_count == 2 and get_context().objects.url.startswith("s3://")
    from loopml.data.ingest import StoreIngest

    with monkeypatch.context() as patch:  # unchanged files: stat cache + existence checks only
        patch.setattr(StoreIngest, "put", lambda *a: pytest.fail("a file was read again"))
        assert data.add("imgs") == v
    write_table(project / "t.parquet", rows=7)
    assert len(data.read_table(data.add("t.parquet"))) == 7
    report = data.checkout("imgs@1", project / "out")
    assert report.modes == {"copy": 2}
    assert (project / "out" / "b" / "c.bin").read_bytes() == b"c" * (2 << 20)
