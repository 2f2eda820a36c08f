"""Project templates for ``loopml init --template NAME``: folders of files copied as they are.

A template is a folder next to this file (its name is the template's name, e.g.
``tabular-classification``); it ships in the wheel as package data. Copying never overwrites a
file the user already has: a clash is an error listing the files, before anything is written.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from loopml.errors import AlreadyExistsError, InvalidParameterError

__all__ = ["TEMPLATES_DIR", "copy_template", "template_names"]

TEMPLATES_DIR = Path(__file__).resolve().parent
_SKIP = {"__pycache__", ".pytest_cache", ".loopml", ".mypy_cache", ".ruff_cache"}
# Stored under another name: a dotfile inside the source tree would act on loopml's own repo.
_RENAMES = {"gitignore": ".gitignore"}


def template_names() -> list[str]:
    return sorted(
        p.name for p in TEMPLATES_DIR.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))
    )


def _files(source: Path) -> dict[Path, Path]:
    """Source path -> destination path, both relative to their folders."""
    out = {}
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if path.is_file() and not (set(rel.parts) & _SKIP) and path.suffix != ".pyc":
            out[rel] = rel.with_name(_RENAMES.get(rel.name, rel.name))
    return out


def copy_template(name: str, target: Path) -> list[Path]:
    """Copy template ``name`` into ``target``; return the files written (relative paths)."""
    names = template_names()
    if name not in names:
        raise InvalidParameterError(
            f"unknown template {name!r}; available: {', '.join(names)}", template=name
        )
    source = TEMPLATES_DIR / name
    files = _files(source)
    clashes = [rel for rel in files.values() if (target / rel).exists()]
    if clashes:
        shown = ", ".join(str(c) for c in clashes[:5]) + (" ..." if len(clashes) > 5 else "")
        raise AlreadyExistsError(
            f"{target} already has {shown}: use an empty folder for the template "
            "(nothing was written)",
            files=[str(c) for c in clashes],
        )
    for rel, out in files.items():
        dest = target / out
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.tmp")
        shutil.copyfile(source / rel, tmp)
        tmp.replace(dest)
    return list(files.values())
