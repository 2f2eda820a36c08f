"""An add killed by SIGKILL leaves no half-registered version and no corrupt object."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from loopml import data
from loopml.errors import NotFoundError
from loopml.tracking.context import get_context
from tests.unit.data.versioning_support import write_files

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")

# The child adds a folder; with "record" it stops just before the version is recorded.
CHILD = """
import sys, time
from pathlib import Path
import loopml
from loopml import data
from loopml.store.metadata.data_sql import SqlDatasetStore

project, folder, where = sys.argv[1], sys.argv[2], sys.argv[3]
loopml.configure(project)
if where == "record":
    def wait_forever(self, name, fields):
        Path(project, "at-record").write_text("x")
        time.sleep(600)
    SqlDatasetStore.create_version = wait_forever
data.add(folder, name="big")
"""


def _objects(store_root: Path) -> int:
    folder = store_root / "objects"
    return sum(1 for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0


@pytest.mark.parametrize("where", ["objects", "record"])
def test_sigkill_during_add_leaves_a_consistent_store(project: Path, where: str) -> None:
    files = {f"part-{i:04d}.bin": os.urandom(64 * 1024) for i in range(400)}
    write_files(project / "big", files)
    store_root = Path(get_context().settings.object_store)
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(project), str(project / "big"), where],
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if where == "objects" and _objects(store_root) >= 20:
                break
            if where == "record" and (project / "at-record").exists():
                break
            if proc.poll() is not None:
                pytest.fail(f"the add finished before it could be killed: {proc.stderr!r}")
            time.sleep(0.005)
        else:
            pytest.fail("the add never reached the point where it is killed")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        if proc.stderr is not None:
            proc.stderr.close()

    with pytest.raises(NotFoundError):
        data.get_version("big")  # nothing half-registered
    objects = get_context().objects
    assert objects.verify_all() == []  # every object under its real name is whole
    v = data.add("big")  # and the next add completes, reusing what was stored
    assert (v.version, v.file_count) == (1, 400)
    data.checkout("big@1", project / "restored")
    assert (project / "restored" / "part-0123.bin").read_bytes() == files["part-0123.bin"]
