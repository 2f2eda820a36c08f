"""A writer killed with SIGKILL mid-write leaves a temp file, never a partial object."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from loopml.store.objects import ObjectStore

# Writes 200 MiB, slowly enough (1 MiB per 10 ms) to be killed part-way through.
WRITER = """
import io, sys, time
from loopml.store.objects import ObjectStore

class Slow(io.RawIOBase):
    def __init__(self):
        self.left = 200 * 2**20
    def readable(self):
        return True
    def readinto(self, buf):
        time.sleep(0.01)
        n = min(len(buf), self.left, 2**20)
        buf[:n] = b"x" * n
        self.left -= n
        return n

store = ObjectStore(sys.argv[1])
store.put_bytes(b"written before the crash")
print("writing", flush=True)
store.put_stream(io.BufferedReader(Slow(), 2**20))
print("finished", flush=True)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_mid_write_leaves_no_partial_object(tmp_path: Path) -> None:
    root = tmp_path / "store"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(root)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "writing"
        temp_dir = root / "tmp"
        deadline = time.monotonic() + 60
        while not any(p.stat().st_size > 8 * 2**20 for p in temp_dir.iterdir()):
            assert proc.poll() is None, "the writer ended before it could be killed"
            assert time.monotonic() < deadline, "the writer made no progress"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    store = ObjectStore(str(root))
    hashes = list(store.iter_hashes())
    assert len(hashes) == 1, "only the object written before the crash is visible"
    assert store.get_bytes(hashes[0]) == b"written before the crash"
    assert store.verify_all() == []
    leftovers = list((root / "tmp").iterdir())
    assert len(leftovers) == 1 and leftovers[0].stat().st_size > 8 * 2**20

    report = store.collect_garbage(hashes, [], grace_seconds=0)
    assert (report.temp_files_removed, report.objects_removed) == (1, 0)
    assert list((root / "tmp").iterdir()) == []
    assert store.verify_all() == []
