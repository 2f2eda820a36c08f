"""Data versioning: loopml against DVC on the same synthetic data, on the same machine, in one run.

    .venv/bin/python benchmarks/setup_peers.py dvc    # once: DVC in .bench/dvc
    .venv/bin/python benchmarks/bench_data.py         # 1 GiB file + 20,000 files of ~4 KiB
    .venv/bin/python benchmarks/bench_data.py --quick --json out.json

Each side runs in its own subprocess and fresh temp folder, generates the same bytes (seeded),
then times its command-line tool as a user types it: ``add`` of the big file, ``add`` of the
folder of small files, ``status`` with nothing changed, and ``checkout`` of the folder after
deleting it (verified by counting the restored files). Both sides use their default link mode
(DVC: reflink,copy; loopml: reflink,copy), so both copy on ext4. Single-file hashing speed
(``hash_file``) is compared with raw single-process BLAKE3 over the same file.
``python bench_data.py --worker ...`` is the loopml side.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

from _common import (
    BENCH_DIR,
    PEERS_DIR,
    Row,
    WorkerError,
    fresh_dir,
    peer_python,
    render_table,
    run_worker,
    warn_if_busy,
    write_json,
)
from setup_peers import installed_version

DVC_SCRIPT = PEERS_DIR / "dvc_data.py"
sys.path.insert(0, str(PEERS_DIR))
from dvc_data import count_files, make_data  # noqa: E402  (the same generator on both sides)

SIZES = {"full": (1024, 20_000), "quick": (64, 2_000)}
WORKLOADS = (
    ("add_big", "add of one {big} MiB file"),
    ("add_many", "add of {files:,} files of ~4 KiB"),
    ("status", "status, nothing changed"),
    ("checkout", "checkout of the folder after deleting it"),
)
TARGET_RATIO = 3.0
TARGET_HASH_SHARE = 0.70


def _timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return elapsed


def _hash_speeds(path: Path, repeat: int = 3) -> dict[str, float]:
    """GiB/s of raw single-process BLAKE3 (one thread, 1 MiB reads) and of loopml's hash_file."""
    from blake3 import blake3

    from loopml.store.objects import hash_file

    size = path.stat().st_size

    def raw() -> str:
        hasher = blake3()
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                hasher.update(chunk)
        return str(hasher.hexdigest())

    def best(fn: Any) -> float:
        fn()  # warm the page cache
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return size / min(times) / (1 << 30)

    assert raw() == hash_file(path)
    return {"raw_blake3_gibps": best(raw), "hash_file_gibps": best(lambda: hash_file(path))}


def loopml_worker(big_mib: int, files: int, out: str) -> None:
    loopml = str(Path(sys.executable).with_name("loopml"))
    root = Path.cwd()
    (root / "loopml.toml").write_text("[loopml]\n")
    subprocess.run([loopml, "db", "upgrade"], capture_output=True, check=True)  # as `dvc init`
    make_data(root, big_mib, files)
    os.sync()  # no writeback of the generated data during the timed steps
    result: dict[str, Any] = {
        "add_big": _timed([loopml, "data", "add", "big.bin"]),
        "add_many": _timed([loopml, "data", "add", "many"]),
        "status": _timed([loopml, "data", "status"]),
    }
    shutil.rmtree(root / "many")
    result["checkout"] = _timed([loopml, "data", "checkout", "many"])
    if count_files(root / "many") != files:
        sys.exit(f"verification failed: checkout restored {count_files(root / 'many')} files")
    result.update(_hash_speeds(root / "big.bin"))
    result["version"] = package_version("loopml")
    Path(out).write_text(json.dumps(result))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="64 MiB and 2,000 files")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temp folders")
    parser.add_argument("--tmp", help="where the temp folders go (default: .bench/tmp)")
    parser.add_argument(
        "--rounds", type=int, default=2, help="rounds, alternating order; best time kept"
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--big-mib", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--files", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        loopml_worker(args.big_mib, args.files, args.out)
        return 0

    # Work under .bench/, not /tmp: on this machine creating a file in /tmp took 0.5 ms (its
    # inode groups are crowded by every test run) against 0.03 ms elsewhere on the same disk,
    # which buried both tools' own costs under the filesystem's.
    tmp = Path(args.tmp) if args.tmp else BENCH_DIR / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    tempfile.tempdir = str(tmp)
    big, files = SIZES["quick" if args.quick else "full"]
    sizes = ["--big-mib", str(big), "--files", str(files)]
    load = warn_if_busy()
    dvc_version = installed_version("dvc")
    results: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    sides: list[tuple[str, Path | str, Path]] = [("loopml", sys.executable, Path(__file__))]
    if dvc_version is None:
        errors["dvc"] = "DVC is not installed: run `python benchmarks/setup_peers.py dvc`"
    else:
        sides.insert(0, ("dvc", peer_python("dvc"), DVC_SCRIPT))
    # Rounds alternate which side goes first, and each workload keeps its best time: on a
    # shared machine the load of other processes changes from minute to minute.
    for round_no in range(args.rounds):
        for side, python, script in sides if round_no % 2 == 0 else sides[::-1]:
            if side in errors:
                continue
            print(
                f"[bench] round {round_no + 1}/{args.rounds}, {side}: {big} MiB file + "
                f"{files:,} files ...",
                file=sys.stderr,
            )
            extra = ["--worker"] if side == "loopml" else []
            with fresh_dir(f"data-{side}", keep=args.keep) as cwd:
                try:
                    got = run_worker(python, script, [*extra, *sizes], cwd=cwd, timeout=3600)
                except WorkerError as exc:
                    errors[side] = str(exc)
                    continue
            best = results.setdefault(side, {})
            for key, value in got.items():
                if isinstance(value, float) and key.endswith("gibps"):
                    best[key] = max(best.get(key, 0.0), value)
                elif isinstance(value, float):
                    best[key] = min(best.get(key, value), value)
                else:
                    best[key] = value
            os.sync()  # the next side starts with no writeback of this one's files pending

    rows = []
    for key, label in WORKLOADS:
        peer = results.get("dvc", {}).get(key)
        mine = results.get("loopml", {}).get(key)
        rows.append(
            Row(
                workload=label.format(big=big, files=files),
                unit="s",
                higher_is_better=False,
                peer=peer,
                loopml=mine,
                target=None if peer is None else peer / TARGET_RATIO,
                peer_error=errors.get("dvc"),
                loopml_error=errors.get("loopml"),
            )
        )
    render_table(
        rows,
        f"DVC {dvc_version or '-'}",
        f"loopml data vs DVC (wall seconds, CLI, best of {args.rounds} rounds)",
    )
    mine = results.get("loopml", {})
    if "raw_blake3_gibps" in mine:
        share = mine["hash_file_gibps"] / mine["raw_blake3_gibps"]
        verdict = "met" if share >= TARGET_HASH_SHARE else "MISSED"
        print(
            f"single-file hashing: loopml hash_file {mine['hash_file_gibps']:.2f} GiB/s, raw "
            f"single-process BLAKE3 {mine['raw_blake3_gibps']:.2f} GiB/s = {share:.0%} "
            f"(target >= {TARGET_HASH_SHARE:.0%}: {verdict})"
        )
    if args.json:
        write_json(
            args.json,
            rows,
            {
                "benchmark": "data",
                "sizes": {"big_mib": big, "files": files},
                "load_avg_before": load,
                "dvc": results.get("dvc"),
                "loopml": mine,
            },
        )
    return 1 if errors else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
