"""A trial worker process: ``python -m loopml.pipeline.tune_worker``.

It reads length-prefixed trial specs on stdin and writes outcomes on its original stdout,
which is kept for the protocol alone: whatever the objective prints goes to stderr. Workers
are plain subprocesses rather than ``multiprocessing`` children, so a script that calls
``tune()`` without an ``if __name__ == "__main__":`` guard is not re-run in every worker.
"""

from __future__ import annotations

import os
import struct
import sys
from typing import IO

__all__ = ["read_frame", "write_frame"]

_HEADER = struct.Struct(">Q")


def write_frame(stream: IO[bytes], data: bytes) -> None:
    stream.write(_HEADER.pack(len(data)))
    stream.write(data)
    stream.flush()


def read_frame(stream: IO[bytes]) -> bytes | None:
    """The next frame, or None when the other side closed the pipe."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        return None
    return data


def main() -> int:
    protocol_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # the objective's prints must not corrupt the protocol
    sys.stdout = sys.stderr
    from loopml.pipeline.tune_trial import run_trial

    stdin = sys.stdin.buffer
    while True:
        payload = read_frame(stdin)
        if payload is None:
            return 0
        write_frame(protocol_out, run_trial(payload))


if __name__ == "__main__":
    raise SystemExit(main())
