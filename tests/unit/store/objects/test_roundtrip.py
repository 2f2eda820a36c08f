"""The behaviour every backend shares: run against a local folder and against S3 (moto)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import blake3
import pytest

from loopml.errors import CorruptObjectError, InvalidParameterError, NotFoundError
from loopml.store.objects import Manifest, ManifestEntry, ObjectStore, hash_bytes

MISSING = "0" * 64
BAD_HASHES = ["", "abc", "A" * 64, "g" * 64, "0" * 63, "0" * 65, "../" + "0" * 61, None, 42]


class ChunkStream(io.RawIOBase):
    """``total`` bytes of a repeating pattern, made on demand in odd-sized reads."""

    def __init__(self, total: int, seed: int = 7) -> None:
        self.remaining = total
        self.position = 0
        self.block = bytes((seed + i) % 251 for i in range(65_537))

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        start = self.position % len(self.block)
        n = min(len(buffer), len(self.block) - start, self.remaining)
        buffer[:n] = self.block[start : start + n]
        self.remaining -= n
        self.position += n
        return n


def stream_bytes(total: int, seed: int = 7) -> bytes:
    return ChunkStream(total, seed).read()


def make_tree(root: Path) -> dict[str, bytes]:
    files = {
        "a.txt": b"alpha",
        "empty": b"",
        "nested/deeper/b.bin": bytes(range(256)) * 10,
        "nested/c.txt": b"alpha",  # same content as a.txt: stored once
        "sp ace/ünï.txt": "ünïcode".encode(),
    }
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_bytes_round_trip(store: ObjectStore) -> None:
    info = store.put_bytes(b"hello loopml")
    assert info.hash == blake3.blake3(b"hello loopml").hexdigest()
    assert info.size == 12
    assert store.get_bytes(info.hash) == b"hello loopml"
    assert store.exists(info.hash)
    assert store.size(info.hash) == 12


def test_empty_object(store: ObjectStore) -> None:
    info = store.put_bytes(b"")
    assert info.size == 0
    assert store.get_bytes(info.hash) == b""


def test_file_round_trip(store: ObjectStore, tmp_path: Path) -> None:
    src = tmp_path / "model.bin"
    src.write_bytes(os.urandom(300_000))
    info = store.put_file(src)
    assert info.hash == hash_bytes(src.read_bytes())
    out = store.get_file(info.hash, tmp_path / "out" / "copy.bin")
    assert out == tmp_path / "out" / "copy.bin"
    assert out.read_bytes() == src.read_bytes()
    assert not [p for p in out.parent.iterdir() if p != out], "get_file left a temp file"


def test_get_file_replaces_an_existing_file(store: ObjectStore, tmp_path: Path) -> None:
    info = store.put_bytes(b"new")
    dest = tmp_path / "dest.txt"
    dest.write_bytes(b"old content")
    store.get_file(info.hash, dest)
    assert dest.read_bytes() == b"new"


def test_stream_round_trip(store: ObjectStore) -> None:
    total = 3 * (1 << 20) + 12_345  # several 1 MiB chunks and a tail
    info = store.put_stream(ChunkStream(total))  # type: ignore[arg-type]
    expected = stream_bytes(total)
    assert info.size == total
    assert info.hash == hash_bytes(expected)
    with store.open(info.hash) as fh:
        assert fh.read() == expected


def test_same_content_is_stored_once(store: ObjectStore, tmp_path: Path) -> None:
    data = b"same bytes" * 1000
    src = tmp_path / "f"
    src.write_bytes(data)
    infos = {
        store.put_bytes(data),
        store.put_stream(io.BytesIO(data)),
        store.put_file(src),
        store.put_bytes(data),
    }
    assert len(infos) == 1
    assert list(store.iter_hashes()) == [hash_bytes(data)]


def test_dir_round_trip(store: ObjectStore, tmp_path: Path) -> None:
    files = make_tree(tmp_path / "src")
    info = store.put_dir(tmp_path / "src")
    assert info.size == sum(len(d) for d in files.values())
    out = store.get_dir(info.hash, tmp_path / "out")
    assert read_tree(out) == files
    manifest = store.read_manifest(info.hash)
    assert set(manifest.entries) == set(files)
    assert manifest.total_size == info.size
    # files + the manifest, with a.txt and nested/c.txt sharing one object
    assert len(set(store.iter_hashes())) == len(files) - 1 + 1


def test_dir_hash_depends_only_on_content(store: ObjectStore, tmp_path: Path) -> None:
    make_tree(tmp_path / "one")
    make_tree(tmp_path / "two")
    assert store.put_dir(tmp_path / "one") == store.put_dir(tmp_path / "two")
    (tmp_path / "two" / "a.txt").write_bytes(b"changed")
    assert store.put_dir(tmp_path / "one") != store.put_dir(tmp_path / "two")


def test_empty_dir(store: ObjectStore, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    info = store.put_dir(tmp_path / "empty")
    assert info.size == 0
    assert store.read_manifest(info.hash) == Manifest({})
    assert list(store.get_dir(info.hash, tmp_path / "out").iterdir()) == []


def test_put_manifest_and_read_back(store: ObjectStore) -> None:
    a, b = store.put_bytes(b"a"), store.put_bytes(b"bb")
    manifest = Manifest(
        {"x/a": ManifestEntry(a.hash, a.size, 0o644), "b": ManifestEntry(b.hash, b.size, 0o755)}
    )
    info = store.put_manifest(manifest)
    assert info.size == len(manifest.to_bytes())
    assert store.read_manifest(info.hash) == manifest


def test_read_manifest_of_a_plain_object(store: ObjectStore) -> None:
    info = store.put_bytes(b"just some bytes")
    with pytest.raises(CorruptObjectError, match="not a valid directory manifest"):
        store.read_manifest(info.hash)


@pytest.mark.parametrize("bad", BAD_HASHES)
def test_every_method_validates_the_hash(store: ObjectStore, tmp_path: Path, bad: object) -> None:
    calls = [
        lambda: store.get_bytes(bad),  # type: ignore[arg-type]
        lambda: store.open(bad),  # type: ignore[arg-type]
        lambda: store.get_file(bad, tmp_path / "f"),  # type: ignore[arg-type]
        lambda: store.get_dir(bad, tmp_path / "d"),  # type: ignore[arg-type]
        lambda: store.read_manifest(bad),  # type: ignore[arg-type]
        lambda: store.exists(bad),  # type: ignore[arg-type]
        lambda: store.size(bad),  # type: ignore[arg-type]
        lambda: store.verify(bad),  # type: ignore[arg-type]
        lambda: store.delete(bad),  # type: ignore[arg-type]
        lambda: store.collect_garbage([bad], []),  # type: ignore[list-item]
    ]
    for call in calls:
        with pytest.raises(InvalidParameterError, match="not an object hash") as caught:
            call()
        assert caught.value.code == "INVALID_PARAMETER"
        assert repr(bad)[:20] in caught.value.message


def test_missing_objects_are_not_found(store: ObjectStore, tmp_path: Path) -> None:
    calls = [
        lambda: store.get_bytes(MISSING),
        lambda: store.open(MISSING),
        lambda: store.get_file(MISSING, tmp_path / "f"),
        lambda: store.get_dir(MISSING, tmp_path / "d"),
        lambda: store.size(MISSING),
        lambda: store.verify(MISSING),
        lambda: store.delete(MISSING),
    ]
    for call in calls:
        with pytest.raises(NotFoundError) as caught:
            call()
        assert MISSING in caught.value.message
        assert store.url in caught.value.message
    assert not store.exists(MISSING)
    assert not (tmp_path / "f").exists()


def test_delete(store: ObjectStore) -> None:
    info = store.put_bytes(b"to delete")
    store.delete(info.hash)
    assert not store.exists(info.hash)
    with pytest.raises(NotFoundError):
        store.get_bytes(info.hash)
    assert store.put_bytes(b"to delete") == info  # can be stored again
    assert store.get_bytes(info.hash) == b"to delete"


def test_verify_and_verify_all_on_a_healthy_store(store: ObjectStore, tmp_path: Path) -> None:
    make_tree(tmp_path / "src")
    store.put_dir(tmp_path / "src")
    assert all(store.verify(h) for h in store.iter_hashes())
    assert store.verify_all() == []


def test_gc_keeps_live_and_manifest_entries(store: ObjectStore, tmp_path: Path) -> None:
    make_tree(tmp_path / "src")
    tree = store.put_dir(tmp_path / "src")
    live = store.put_bytes(b"live")
    dead = store.put_bytes(b"dead")
    before = set(store.iter_hashes())

    report = store.collect_garbage([live.hash], [tree.hash], grace_seconds=0)

    assert report.objects_removed == 1
    assert report.bytes_removed == dead.size
    assert report.kept == len(before) - 1
    assert set(store.iter_hashes()) == before - {dead.hash}
    assert read_tree(store.get_dir(tree.hash, tmp_path / "out")) == read_tree(tmp_path / "src")


def test_gc_dry_run_and_grace(store: ObjectStore) -> None:
    dead = store.put_bytes(b"dead")
    young = store.collect_garbage([], [])  # default grace: an hour
    assert (young.objects_removed, young.kept) == (0, 1)
    dry = store.collect_garbage([], [], grace_seconds=0, dry_run=True)
    assert (dry.objects_removed, dry.bytes_removed) == (1, 4)
    assert store.exists(dead.hash)
    real = store.collect_garbage([], [], grace_seconds=0)
    assert real.objects_removed == 1
    assert not store.exists(dead.hash)


def test_gc_stops_on_a_missing_manifest(store: ObjectStore) -> None:
    kept = store.put_bytes(b"would be garbage")
    with pytest.raises(NotFoundError):
        store.collect_garbage([], [MISSING], grace_seconds=0)
    assert store.exists(kept.hash)


@pytest.fixture
def big_stream_size() -> Iterator[int]:
    yield 20 * (1 << 20) + 1  # above the multi-threaded hashing threshold


def test_big_stream_uses_threaded_hash_consistently(
    store: ObjectStore, big_stream_size: int
) -> None:
    info = store.put_stream(ChunkStream(big_stream_size, seed=3))  # type: ignore[arg-type]
    assert info.hash == blake3.blake3(stream_bytes(big_stream_size, seed=3)).hexdigest()
    assert store.verify(info.hash)
