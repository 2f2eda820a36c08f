"""Properties over generated content: round trips, names = BLAKE3, canonical manifests."""

from __future__ import annotations

import io
from pathlib import Path

import blake3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loopml.store.objects import Manifest, ManifestEntry, ObjectStore, hash_bytes

# One store serves every example on purpose: content addressing makes that sound, and it
# exercises deduplication against whatever earlier examples stored.
SHARED_STORE = settings(
    max_examples=75, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

hashes = st.binary(min_size=1, max_size=16).map(hash_bytes)
paths = st.lists(
    st.text(st.characters(blacklist_characters="/\\\x00", codec="utf-8"), min_size=1, max_size=8)
    .filter(lambda part: part not in (".", ".."))
    .filter(lambda part: not (len(part) >= 2 and part[1] == ":")),
    min_size=1,
    max_size=3,
).map("/".join)
entries = st.builds(ManifestEntry, hashes, st.integers(0, 2**40), st.sampled_from([0o644, 0o755]))


@SHARED_STORE
@given(data=st.binary(max_size=4096))
def test_put_get_round_trip(local_store: ObjectStore, data: bytes) -> None:
    info = local_store.put_bytes(data)
    assert info.hash == blake3.blake3(data).hexdigest()
    assert info.size == len(data)
    assert local_store.get_bytes(info.hash) == data
    assert local_store.put_stream(io.BytesIO(data)) == info


@SHARED_STORE
@given(data=st.binary(max_size=4096))
def test_file_round_trip(local_store: ObjectStore, tmp_path: Path, data: bytes) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    info = local_store.put_file(src)
    assert info.hash == blake3.blake3(data).hexdigest()
    assert local_store.get_file(info.hash, tmp_path / "dst.bin").read_bytes() == data


@settings(max_examples=150)
@given(st.dictionaries(paths, entries, max_size=8))
def test_manifest_bytes_round_trip_and_are_canonical(raw: dict[str, ManifestEntry]) -> None:
    manifest = Manifest(raw)
    assert Manifest.from_bytes(manifest.to_bytes()) == manifest
    reordered = Manifest(dict(reversed(list(raw.items()))))
    assert reordered.to_bytes() == manifest.to_bytes()
