"""Dataset versions: add, identical content, tables, URIs, bad input, concurrency, gc."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

import loopml
from loopml import data
from loopml.data.ingest import LocalIngest
from loopml.errors import (
    InvalidParameterError,
    NotFoundError,
    PermissionDeniedError,
)
from loopml.tracking.context import get_context
from tests.unit.data.versioning_support import age, write_files, write_table


def test_add_a_parquet_file_records_a_table_version(project: Path) -> None:
    df = write_table(project / "customers.parquet", rows=25, extra=True)
    v = data.add("customers.parquet", message="October export")
    assert (v.name, v.version, v.layout, v.file_count) == ("customers", 1, "file", 1)
    assert v.size == (project / "customers.parquet").stat().st_size
    assert v.message == "October export" and v.author and v.created_ms > 0
    assert (v.table_format, v.num_rows) == ("parquet", 25)
    assert [c["name"] for c in v.table_schema or []] == ["id", "amount", "country"]
    assert v.uri == "data:/customers/1"
    pd.testing.assert_frame_equal(data.read_table("data:/customers@latest"), df)
    table = data.read_table("data:/customers/1", as_arrow=True)
    assert isinstance(table, pa.Table) and table.num_rows == 25
    assert list(data.read_table(v, columns=["id"]).columns) == ["id"]


def test_identical_content_makes_no_new_version(project: Path) -> None:
    write_table(project / "t.parquet")
    first = data.add("t.parquet", name="t")
    again = data.add("t.parquet", name="t", message="same bytes")
    assert again == first
    write_table(project / "t.parquet", rows=11)
    second = data.add("t.parquet", name="t")
    assert second.version == 2
    assert [v.version for v in data.list_versions("t")] == [2, 1]
    assert data.resolve("t@latest") == data.resolve("data:/t@latest") == second
    assert data.resolve("t@1") == data.resolve("data:/t/1") == first
    assert data.read_table("data:/t/1").shape[0] == 10
    assert data.read_table("data:/t/2").shape[0] == 11
    summary = data.list_datasets()
    assert [(s.name, s.latest_version, s.version_count) for s in summary] == [("t", 2, 2)]


def test_folder_of_parquet_parts_is_one_table(project: Path) -> None:
    write_table(project / "sales" / "part-0.parquet", rows=5)
    write_table(project / "sales" / "part-1.parquet", rows=7)
    (project / "sales" / "_SUCCESS").write_text("")
    v = data.add("sales")
    assert (v.layout, v.file_count, v.table_format, v.num_rows) == ("folder", 3, "parquet", 12)
    assert len(data.read_table("data:/sales@latest")) == 12


def test_csv_file_is_a_table(project: Path) -> None:
    write_table(project / "prices.csv", rows=4)
    v = data.add("prices.csv")
    assert (v.table_format, v.num_rows) == ("csv", 4)
    assert data.read_table("data:/prices/1")["amount"].tolist() == [0.0, 1.5, 3.0, 4.5]


def test_folder_of_other_files_is_not_a_table(project: Path) -> None:
    write_files(project / "images", {"a.png": b"\x89PNG", "sub/b.png": b"\x89PNG2"})
    v = data.add("images", message="pics")
    assert (v.layout, v.file_count, v.table_format, v.num_rows) == ("folder", 2, None, None)
    manifest = get_context().objects.read_manifest(v.manifest_hash)
    assert sorted(manifest.entries) == ["a.png", "sub/b.png"]
    with pytest.raises(InvalidParameterError, match="not a table"):
        data.read_table("data:/images/1")


def test_bad_input_is_a_clear_error(project: Path) -> None:
    with pytest.raises(NotFoundError, match=r"missing\.parquet"):
        data.add("missing.parquet")
    (project / "broken.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(InvalidParameterError, match=r"broken\.parquet is not a readable Parquet"):
        data.add("broken.parquet")
    with pytest.raises(NotFoundError):
        data.get_version("broken")
    (project / "empty").mkdir()
    with pytest.raises(InvalidParameterError, match="holds no files"):
        data.add("empty")
    write_files(project, {"x.txt": "x"})
    with pytest.raises(InvalidParameterError, match="not a valid dataset name"):
        data.add("x.txt", name="bad name/with slash")
    with pytest.raises(NotFoundError, match="no dataset named 'nope'"):
        data.read_table("data:/nope@latest")
    with pytest.raises(InvalidParameterError, match="Accepted forms"):
        data.resolve("data:/x")
    with pytest.raises(InvalidParameterError, match="Parquet"):
        data.read_table(project / "broken.parquet")


def test_unreadable_file_names_the_file(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_files(project / "d", {"secret.bin": b"s"})

    def denied(self: LocalIngest, path: str, size: int) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(LocalIngest, "put", denied)
    with pytest.raises(PermissionDeniedError, match=r"secret\.bin"):
        data.add("d")


def test_unchanged_files_are_not_read_again(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_files(project / "many", {f"f{i}.txt": f"content {i}" for i in range(50)})
    first = data.add("many")

    def no_reads(*args: object, **kwargs: object) -> None:
        raise AssertionError("an unchanged file was read again")

    with monkeypatch.context() as patch:
        patch.setattr(LocalIngest, "put", no_reads)
        assert data.add("many") == first
    (project / "many" / "f3.txt").write_text("changed")
    age(project / "many" / "f3.txt", 5)
    assert data.add("many").version == 2


def test_a_file_rewritten_within_its_timestamp_tick_is_re_read(project: Path) -> None:
    """An mtime not clearly older than the read is not trusted (git's racy-clean rule): a
    rewrite with the same size and the same mtime is still seen."""
    path = project / "racy.txt"
    path.write_text("aaaa")
    soon = time.time_ns() + 2_000_000_000  # as if written in the tick of the read
    os.utime(path, ns=(soon, soon))
    first = data.add("racy.txt")
    path.write_text("bbbb")
    os.utime(path, ns=(soon, soon))  # same inode, size and mtime as when it was read
    assert data.add("racy.txt").version == first.version + 1


def test_concurrent_adds_get_distinct_version_numbers(project: Path) -> None:
    for i in range(4):
        write_files(project / f"src{i}", {"data.txt": f"payload {i}"})
    code = (
        "import sys, loopml; from loopml import data; "
        "loopml.configure(sys.argv[1]); "
        "print(data.add(sys.argv[2], name='shared', track=False).version)"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(project), str(project / f"src{i}")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    numbers = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        numbers.append(int(out.strip()))
    assert sorted(numbers) == [1, 2, 3, 4]


def test_gc_keeps_every_object_a_version_needs(project: Path) -> None:
    write_files(project / "keep", {"a.txt": "a", "b/c.txt": "c"})
    v = data.add("keep")
    ctx = get_context()
    stray = ctx.objects.put_bytes(b"nobody refers to me").hash
    live, manifests = ctx.metadata.referenced_objects()
    assert v.manifest_hash in manifests
    report = ctx.objects.collect_garbage(live, manifests, grace_seconds=0)
    assert report.objects_removed == 1 and not ctx.objects.exists(stray)
    entries = ctx.objects.read_manifest(v.manifest_hash).entries
    assert all(ctx.objects.exists(e.hash) for e in entries.values())


def test_log_input_links_runs_and_versions(project: Path) -> None:
    write_table(project / "train.parquet")
    v = data.add("train.parquet")
    with loopml.start_run() as run:
        record = loopml.log_input("data:/train@latest", context="training")
        loopml.log_input(v, context="evaluation")  # the same version again: context updated
    assert record.uri == "data:/train/1"
    inputs = data.inputs_of_run(run.run_id)
    assert [(i.uri, i.context) for i in inputs] == [("data:/train/1", "evaluation")]
    assert [r.run_id for r in data.runs_of_version("train@1")] == [run.run_id]
    from loopml.errors import InvalidStateError

    with pytest.raises(InvalidStateError, match="needs a run"):
        loopml.log_input(v)


def test_profile_can_be_stored_with_a_version(project: Path) -> None:
    write_table(project / "p.parquet")
    v = data.add("p.parquet")
    from loopml.data import _stores

    _stores.dataset_store().set_profile(v.name, v.version, {"columns": {"id": {"mean": 4.5}}})
    assert data.get_version("p", 1).profile == {"columns": {"id": {"mean": 4.5}}}


def test_large_files_round_trip_verified(project: Path) -> None:
    """Files above 1 MiB take the kernel-copy path both ways; the bytes stay exact."""
    payload = os.urandom(3 << 20) + b"tail"
    write_files(project / "big", {"blob.bin": payload, "small.txt": "s"})
    v = data.add("big")
    objects = get_context().objects
    entry = objects.read_manifest(v.manifest_hash).entries["blob.bin"]
    assert entry.size == len(payload) and objects.verify(entry.hash)
    report = data.checkout("big@1", project / "out")
    assert report.written == 2
    assert (project / "out" / "blob.bin").read_bytes() == payload
    (project / "big" / "blob.bin").write_bytes(payload[::-1])
    age(project / "big")
    assert data.add("big").version == 2
