"""DVC's side of benchmarks/bench_data.py; runs inside .bench/dvc with its own python.

    .bench/dvc/bin/python benchmarks/peers/dvc_data.py --big-mib 1024 --files 20000 --out r.json

Run from an empty folder. Standard library only, plus the ``dvc`` command of the same venv
(the CLI a DVC user types). The data generator and the timed steps mirror ``loopml_worker`` in
bench_data.py exactly: same bytes, same order, same verification.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

CHUNK = 4 << 20


def make_data(root: Path, big_mib: int, files: int, seed: int = 11) -> None:
    """One big file of random bytes and ``files`` files of ~4 KiB in 100 folders (seeded)."""
    rng = random.Random(seed)
    with (root / "big.bin").open("wb") as out:
        left = big_mib << 20
        while left:
            n = min(CHUNK, left)
            out.write(rng.randbytes(n))
            left -= n
    for i in range(files):
        folder = root / "many" / f"d{i % 100:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i:06d}.bin").write_bytes(rng.randbytes(3072 + rng.randrange(2048)))
    old = time.time() - 60  # settle timestamps, as files on a real disk would be
    for path in root.rglob("*.bin"):
        os.utime(path, (old, old))


def count_files(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file())


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--big-mib", type=int, required=True)
    parser.add_argument("--files", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    dvc = str(Path(sys.executable).with_name("dvc"))
    os.environ["DVC_NO_ANALYTICS"] = "1"
    root = Path.cwd()
    subprocess.run([dvc, "init", "--no-scm", "-q"], check=True)
    make_data(root, args.big_mib, args.files)
    os.sync()  # no writeback of the generated data during the timed steps

    result = {
        "add_big": timed([dvc, "add", "-q", "big.bin"]),
        "add_many": timed([dvc, "add", "-q", "many"]),
        "status": timed([dvc, "status", "-q"]),
    }
    shutil.rmtree(root / "many")
    result["checkout"] = timed([dvc, "checkout", "-q", "many.dvc"])
    if count_files(root / "many") != args.files:
        sys.exit(f"verification failed: checkout restored {count_files(root / 'many')} files")
    result["version"] = subprocess.run(
        [dvc, "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    Path(args.out).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
