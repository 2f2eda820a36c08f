"""Large folders: add, status and checkout with memory bounded by file metadata.

10,000 files by default; 100,000 (about 90 s here) with ``LOOPML_TEST_LARGE=1``.
"""

from __future__ import annotations

import os
import time
import tracemalloc
from pathlib import Path

import pytest

from loopml import data

N = 100_000 if os.environ.get("LOOPML_TEST_LARGE") else 10_000


@pytest.mark.slow
def test_a_large_folder(project: Path) -> None:
    root = project / "many"
    old = time.time() - 60
    for i in range(N):
        folder = root / f"d{i % 200:03d}"
        if i < 200:
            folder.mkdir(parents=True)
        path = folder / f"{i:06d}.txt"
        path.write_bytes(b"%06d" % i)
        os.utime(path, (old, old))

    tracemalloc.start()
    v = data.add("many")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert v.file_count == N
    # Metadata only (path, stat, hash and manifest entry per file: ~1.3 KiB), no contents.
    assert peak < 2048 * N, f"peak {peak / 2**20:.0f} MiB"
    assert data.status().clean
    (root / "d007" / "000007.txt").write_text("changed")
    assert data.status().paths[0].modified == ["d007/000007.txt"]
    assert data.checkout("many@1", force=True).written == 1
