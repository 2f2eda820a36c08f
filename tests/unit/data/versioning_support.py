"""Helpers of the dataset-versioning tests: small files and tables with old timestamps."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd


def age(path: Path, seconds: float = 10.0) -> None:
    """Backdate ``path`` (and everything under it) so the stat cache trusts it at once."""
    when = time.time() - seconds
    targets = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    for target in targets:
        os.utime(target, (when, when))


def write_files(root: Path, files: dict[str, str | bytes], *, old: bool = True) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content)
        else:
            path.write_bytes(content)
    if old:
        age(root)
    return root


def write_table(path: Path, rows: int = 10, *, extra: bool = False) -> pd.DataFrame:
    df = pd.DataFrame({"id": range(rows), "amount": [i * 1.5 for i in range(rows)]})
    if extra:
        df["country"] = ["fr" if i % 2 else "de" for i in range(rows)]
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        df.to_csv(path, index=False)
    else:
        df.to_parquet(path, index=False)
    return df
