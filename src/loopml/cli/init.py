"""``loopml init [DIR]``: make a folder a loopml project (``loopml.toml`` + ``.loopml/``).

``--template NAME`` also copies a starter project (see :mod:`loopml.cli.templates`), e.g. a
cached training pipeline with its parameters, search space and tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from loopml.cli._common import ProjectOpt, global_project
from loopml.cli._output import console, esc
from loopml.config import PROJECT_FILE, STATE_DIR
from loopml.errors import InvalidParameterError

PROJECT_TEMPLATE = """\
# loopml project settings.
# Precedence: explicit argument > environment variable (LOOPML_*) > this file > default.
# Every setting is optional; the commented values below are the defaults.

[loopml]
# Metadata (experiments, runs, params, metrics): SQLite in .loopml/ by default, or a team
# database such as "postgresql+psycopg://user@host:5432/loopml".   (env: LOOPML_DB_URL)
# db_url = "sqlite:///<this folder>/.loopml/loopml.db"

# Artifacts and other files, content-addressed: a local folder, or "s3://bucket/prefix".
# (env: LOOPML_OBJECT_STORE)
# object_store = "<this folder>/.loopml/objects"

# Seconds between background writes of logged metrics.   (env: LOOPML_FLUSH_INTERVAL)
# flush_interval = 1.0

# Queued metric points that force an early write.
# flush_max_points = 50000
"""


@dataclass(frozen=True)
class InitResult:
    root: Path
    created: bool
    gitignore_updated: bool


def init_project(directory: Path) -> InitResult:
    """Create ``loopml.toml`` and ``.loopml/`` in ``directory`` (kept as they are if present)."""
    root = directory.expanduser()
    if root.exists() and not root.is_dir():
        raise InvalidParameterError(f"{str(root)!r} exists and is not a folder")
    root.mkdir(parents=True, exist_ok=True)
    root = root.resolve()
    project_file = root / PROJECT_FILE
    created = not project_file.exists()
    if created:
        project_file.write_text(PROJECT_TEMPLATE, encoding="utf-8")
    state = root / STATE_DIR
    state.mkdir(exist_ok=True)
    return InitResult(root, created, _ignore_state_dir(root))


def _ignore_state_dir(root: Path) -> bool:
    """Add ``.loopml/`` to the project's ``.gitignore`` if it has one and lacks the entry."""
    gitignore = root / ".gitignore"
    if not gitignore.is_file():
        return False
    text = gitignore.read_text(encoding="utf-8", errors="replace")
    entries = {line.strip() for line in text.splitlines()}
    if entries & {STATE_DIR, f"{STATE_DIR}/", f"/{STATE_DIR}", f"/{STATE_DIR}/"}:
        return False
    prefix = "" if not text or text.endswith("\n") else "\n"
    with gitignore.open("a", encoding="utf-8") as fh:
        fh.write(f"{prefix}# loopml's local stores (database, objects)\n{STATE_DIR}/\n")
    return True


def init_command(
    ctx: typer.Context,
    directory: Annotated[
        Path | None,
        typer.Argument(help="Folder to make a project (created if missing); default: the cwd."),
    ] = None,
    project: ProjectOpt = None,
    template: Annotated[
        str | None,
        typer.Option(
            "--template",
            "-t",
            help="Also create a starter project: tabular-classification.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Create loopml.toml and .loopml/ in DIR (like `git init`); safe to run again."""
    target = directory or project or global_project(ctx) or Path.cwd()
    copied: list[Path] = []
    if template is not None:
        from loopml.cli.templates import copy_template

        root = target.expanduser()
        if root.exists() and not root.is_dir():
            raise InvalidParameterError(f"{str(root)!r} exists and is not a folder")
        root.mkdir(parents=True, exist_ok=True)
        copied = copy_template(template, root)
    result = init_project(target)
    out = console()
    if result.created:
        out.print(f"Initialised a loopml project in [bold]{esc(result.root)}[/]")
        out.print(f"  {PROJECT_FILE}  settings (all optional; defaults are commented)")
        out.print(f"  {STATE_DIR}/     local database and object store")
    else:
        out.print(
            f"{esc(result.root)} is already initialised (found {PROJECT_FILE}); nothing to do"
        )
    if result.gitignore_updated:
        out.print(f"  added {STATE_DIR}/ to .gitignore")
    if copied:
        _print_template(result.root, template or "", copied)


def _print_template(root: Path, name: str, files: list[Path]) -> None:
    out = console()
    out.print(f"Created the [bold]{esc(name)}[/] template ({len(files)} files):")
    for rel in sorted(files):
        out.print(f"  {esc(rel.as_posix())}")
    here = Path.cwd().resolve()
    where = "" if root == here else f"cd {esc(root)} && "
    out.print("Next:")
    out.print(f"  {where}loopml pipeline run pipelines/training.py:training --config params.yaml")
    out.print("  pytest        # the project's own tests")
