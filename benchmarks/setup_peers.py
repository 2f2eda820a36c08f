"""Create the virtualenvs that peer tools run in for the benchmarks (idempotent).

Each peer lives in its own virtualenv under ``.bench/<name>`` (git-ignored) and is only ever run
as a subprocess with that venv's python, never imported into loopml's venv. A venv whose peer
already imports is left alone; ``--upgrade`` reinstalls to the newest release.

    .venv/bin/python benchmarks/setup_peers.py            # create what is missing
    .venv/bin/python benchmarks/setup_peers.py --upgrade  # move every peer to its newest release
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import venv

from _common import BENCH_DIR, ROOT, peer_python

# name -> (pip requirement, code that imports the peer and prints its version)
PEERS: dict[str, tuple[str, str]] = {
    "mlflow": ("mlflow", "import mlflow; print(mlflow.__version__)"),
    "dvc": ("dvc", "import dvc; print(dvc.__version__)"),
    # Evidently does not import under pandas 3 (DESIGN.md); requirements are space-separated.
    "evidently": ("evidently pandas<3", "import evidently; print(evidently.__version__)"),
}


def installed_version(name: str) -> str | None:
    python = peer_python(name)
    if not python.exists():
        return None
    code = PEERS[name][1]
    proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def setup(name: str, *, upgrade: bool = False) -> str:
    requirement = PEERS[name][0]
    env_dir = BENCH_DIR / name
    version = installed_version(name)
    if version and not upgrade:
        print(
            f"[peers] {name} {version} already installed in {env_dir.relative_to(ROOT)}: skipping"
        )
        return version
    python = peer_python(name)
    if not python.exists():
        print(f"[peers] creating virtualenv {env_dir.relative_to(ROOT)}")
        venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check"]
    print(
        f"[peers] pip install {'--upgrade ' if upgrade else ''}{requirement} into {env_dir.relative_to(ROOT)}"
    )
    subprocess.run([*pip, "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, *(["--upgrade"] if upgrade else []), *requirement.split()], check=True)
    version = installed_version(name)
    if not version:
        sys.exit(f"[peers] {name} was installed but does not import; see the pip output above")
    print(f"[peers] {name} {version} ready: {python.relative_to(ROOT)}")
    return version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "peers", nargs="*", help=f"peers to set up: {', '.join(PEERS)} (default: all)"
    )
    parser.add_argument("--upgrade", action="store_true", help="reinstall the newest release")
    args = parser.parse_args(argv)
    unknown = [p for p in args.peers if p not in PEERS]
    if unknown:
        parser.error(f"unknown peer {unknown[0]!r}; known: {', '.join(PEERS)}")
    BENCH_DIR.mkdir(exist_ok=True)
    for name in args.peers or list(PEERS):
        setup(name, upgrade=args.upgrade)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
