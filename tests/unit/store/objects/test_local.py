"""What only a local folder has: its layout, temp files, permissions and corruption on disk."""

from __future__ import annotations

import io
import os
import stat
import time
import tracemalloc
from pathlib import Path

import blake3
import pytest

import loopml.store.objects.store as store_module
from loopml.errors import (
    CorruptObjectError,
    InvalidParameterError,
    InvalidStateError,
    NotFoundError,
)
from loopml.store.objects import ObjectStore, hash_bytes, hash_file

from .test_roundtrip import ChunkStream


def object_path(store: ObjectStore, digest: str) -> Path:
    return Path(store.url) / "objects" / digest[:2] / digest[2:]


def flip_a_byte(path: Path, offset: int = 0) -> None:
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_layout_and_read_only_objects(local_store: ObjectStore) -> None:
    info = local_store.put_bytes(b"layout")
    path = object_path(local_store, info.hash)
    assert path.read_bytes() == b"layout"
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert list((Path(local_store.url) / "tmp").iterdir()) == []


def test_url_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "store"
    assert ObjectStore(f"file://{folder}").url == str(folder)
    assert ObjectStore(folder).url == str(folder)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert ObjectStore("~/store").url == str(folder)
    monkeypatch.chdir(tmp_path)
    assert ObjectStore("store").url == str(folder)
    with pytest.raises(InvalidParameterError, match="another host"):
        ObjectStore("file://server/share")
    with pytest.raises(InvalidParameterError, match="empty"):
        ObjectStore("")


def test_verify_detects_a_flipped_byte(local_store: ObjectStore) -> None:
    good = local_store.put_bytes(b"good object")
    bad = local_store.put_bytes(b"soon corrupt")
    flip_a_byte(object_path(local_store, bad.hash), offset=3)

    assert local_store.verify(good.hash)
    assert not local_store.verify(bad.hash)
    assert local_store.verify_all() == [bad.hash]
    with pytest.raises(CorruptObjectError, match=bad.hash) as caught:
        local_store.get_bytes(bad.hash)
    assert caught.value.code == "CORRUPT_OBJECT"


def test_get_file_of_a_corrupt_object_leaves_dest_untouched(
    local_store: ObjectStore, tmp_path: Path
) -> None:
    info = local_store.put_bytes(b"precious")
    flip_a_byte(object_path(local_store, info.hash))
    dest = tmp_path / "dest"
    dest.write_bytes(b"previous")
    with pytest.raises(CorruptObjectError):
        local_store.get_file(info.hash, dest)
    assert dest.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dest", "store"]


def test_a_truncated_object_is_rewritten_by_the_next_put(local_store: ObjectStore) -> None:
    info = local_store.put_bytes(b"twelve bytes")
    path = object_path(local_store, info.hash)
    path.chmod(0o644)
    path.write_bytes(b"twelve")
    assert local_store.verify_all() == [info.hash]
    local_store.put_bytes(b"twelve bytes")
    assert local_store.verify_all() == []


def test_put_file_refuses_a_file_that_changes_while_stored(
    local_store: ObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "growing.log"
    src.write_bytes(b"line 1\n")
    first_pass = store_module.hash_stream

    def hash_then_append(*args: object, **kwargs: object) -> tuple[str, int]:
        result = first_pass(*args, **kwargs)  # type: ignore[arg-type]
        with src.open("ab") as fh:  # another process writes between the two passes
            fh.write(b"line 2\n")
        return result

    monkeypatch.setattr(store_module, "hash_stream", hash_then_append)
    with pytest.raises(InvalidStateError, match="changed while it was being stored"):
        local_store.put_file(src)
    assert list(local_store.iter_hashes()) == []
    assert list((Path(local_store.url) / "tmp").iterdir()) == []


def test_put_file_errors(local_store: ObjectStore, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no such file"):
        local_store.put_file(tmp_path / "nope")
    with pytest.raises(InvalidParameterError, match="put_dir"):
        local_store.put_file(tmp_path)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(InvalidParameterError, match="not a regular file"):
        local_store.put_file(fifo)
    with pytest.raises(NotFoundError):
        local_store.put_dir(tmp_path / "nope")
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(InvalidParameterError, match="not a folder"):
        local_store.put_dir(tmp_path / "file")
    with pytest.raises(InvalidParameterError, match="is a folder"):
        local_store.get_file(local_store.put_bytes(b"x").hash, tmp_path)


def test_dir_modes_and_links(local_store: ObjectStore, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "run.sh").write_bytes(b"#!/bin/sh\n")
    (src / "run.sh").chmod(0o700)
    (src / "data").write_bytes(b"data")
    (src / "data").chmod(0o600)
    (src / "link").symlink_to(src / "data")
    info = local_store.put_dir(src)
    entries = local_store.read_manifest(info.hash).entries
    # modes are normalized (as git does) so the manifest hash does not depend on the umask
    assert {path: e.mode for path, e in entries.items()} == {
        "run.sh": 0o755,
        "data": 0o644,
        "link": 0o644,
    }
    out = local_store.get_dir(info.hash, tmp_path / "out")
    assert stat.S_IMODE((out / "run.sh").stat().st_mode) == 0o755
    assert not (out / "link").is_symlink()
    assert (out / "link").read_bytes() == b"data"

    (src / "loop").symlink_to(src, target_is_directory=True)
    with pytest.raises(InvalidParameterError, match="link to a folder"):
        local_store.put_dir(src)


def test_manifest_paths_cannot_escape_dest(local_store: ObjectStore, tmp_path: Path) -> None:
    payload = local_store.put_bytes(b"evil")
    for path in ["../escape", "/etc/passwd", "a/../../b", "a//b", "./a", "C:/x", "a\\b"]:
        raw = b'{"entries":{"%s":{"hash":"%s","mode":420,"size":4}},"format":"loopml-dir/1"}' % (
            path.replace("\\", "\\\\").encode(),
            payload.hash.encode(),
        )
        manifest = local_store.put_bytes(raw)
        with pytest.raises(CorruptObjectError, match="not a valid manifest path"):
            local_store.get_dir(manifest.hash, tmp_path / "out")
    assert not (tmp_path / "escape").exists()


def test_gc_removes_old_temp_files_only(local_store: ObjectStore) -> None:
    local_store.put_bytes(b"x")  # creates tmp/
    tmp = Path(local_store.url) / "tmp"
    old, fresh = tmp / "put-old", tmp / "put-fresh"
    old.write_bytes(b"left by a killed writer")
    fresh.write_bytes(b"a write in progress")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))

    dry = local_store.collect_garbage([], [], dry_run=True)
    assert dry.temp_files_removed == 1
    assert old.exists()
    report = local_store.collect_garbage([], [])
    assert report.temp_files_removed == 1
    assert not old.exists()
    assert fresh.exists()


def test_gc_grace_protects_a_re_put_object(local_store: ObjectStore) -> None:
    """Storing content that already exists refreshes its age, so gc cannot race the caller."""
    info = local_store.put_bytes(b"old garbage, wanted again")
    path = object_path(local_store, info.hash)
    two_hours_ago = time.time() - 7200
    os.utime(path, (two_hours_ago, two_hours_ago))
    local_store.put_bytes(b"old garbage, wanted again")
    assert local_store.collect_garbage([], []).objects_removed == 0
    assert local_store.exists(info.hash)


def test_gc_rejects_a_negative_grace(local_store: ObjectStore) -> None:
    with pytest.raises(InvalidParameterError, match="grace_seconds"):
        local_store.collect_garbage([], [], grace_seconds=-1)
    with pytest.raises(InvalidParameterError, match="grace_seconds"):
        local_store.collect_garbage([], [], grace_seconds=float("nan"))


def test_stray_files_are_ignored(local_store: ObjectStore) -> None:
    info = local_store.put_bytes(b"real")
    objects = Path(local_store.url) / "objects"
    (objects / "README").write_text("not an object")
    (objects / info.hash[:2] / "junk").write_text("not an object")
    assert list(local_store.iter_hashes()) == [info.hash]
    assert local_store.collect_garbage([], [], grace_seconds=0).objects_removed == 1
    assert (objects / "README").exists()


def test_put_stream_memory_stays_flat(local_store: ObjectStore) -> None:
    total = 64 * (1 << 20)
    tracemalloc.start()
    try:
        info = local_store.put_stream(ChunkStream(total))  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.size == total
    assert peak < 8 * (1 << 20), f"put_stream held {peak / 2**20:.1f} MiB for a 64 MiB stream"


def test_hash_file_small_and_threaded(tmp_path: Path) -> None:
    for size in (0, 1, 1 << 20, 9 * (1 << 20) + 3):  # the last one hashes on several threads
        data = os.urandom(size)
        path = tmp_path / f"f{size}"
        path.write_bytes(data)
        assert hash_file(path) == blake3.blake3(data).hexdigest() == hash_bytes(data)


def test_put_stream_accepts_any_readable(local_store: ObjectStore) -> None:
    raw = io.BufferedReader(io.BytesIO(b"buffered"))  # type: ignore[arg-type]
    assert local_store.get_bytes(local_store.put_stream(raw).hash) == b"buffered"


def test_put_stream_refuses_a_text_stream(local_store: ObjectStore) -> None:
    with pytest.raises(InvalidParameterError, match="binary stream"):
        local_store.put_stream(io.StringIO("text"))  # type: ignore[arg-type]
    assert list((Path(local_store.url) / "tmp").iterdir()) == []
