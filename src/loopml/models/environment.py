"""``check_environment``: does this Python environment satisfy a package's requirements?

This is the CD step "are all dependencies installed where the model will be served?": it
reads the pinned requirements from the manifest and compares them with what is installed,
without importing any of them.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from loopml.errors import InvalidParameterError

__all__ = ["EnvReport", "Mismatch", "check_environment", "check_requirements"]


@dataclass(frozen=True)
class Mismatch:
    requirement: str
    installed: str | None
    problem: Literal["missing", "version"]

    def __str__(self) -> str:
        if self.problem == "missing":
            return f"{self.requirement}: not installed"
        return f"{self.requirement}: {self.installed} is installed"


@dataclass(frozen=True)
class EnvReport:
    requirements: list[str]
    mismatches: list[Mismatch] = field(default_factory=list)
    python_required: str = ""
    python_running: str = ""

    @property
    def python_ok(self) -> bool:
        """Same major.minor: pickles and compiled wheels may not cross minor versions."""
        return self.python_required.split(".")[:2] == self.python_running.split(".")[:2]

    @property
    def ok(self) -> bool:
        return not self.mismatches and self.python_ok

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "python": {
                "required": self.python_required,
                "running": self.python_running,
                "ok": self.python_ok,
            },
            "requirements": self.requirements,
            "mismatches": [
                {"requirement": m.requirement, "installed": m.installed, "problem": m.problem}
                for m in self.mismatches
            ],
        }


def check_requirements(requirements: list[str]) -> list[Mismatch]:
    from packaging.requirements import InvalidRequirement, Requirement

    found: list[Mismatch] = []
    for text in requirements:
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            raise InvalidParameterError(f"requirement {text!r} is not valid: {exc}") from None
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            version = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            found.append(Mismatch(text, None, "missing"))
            continue
        if req.specifier and not req.specifier.contains(version, prereleases=True):
            found.append(Mismatch(text, version, "version"))
    return found


def check_environment(uri: str | Path) -> EnvReport:
    """Compare the package at ``uri`` with the running environment; ``report.ok`` if it fits."""
    from loopml.models.manifest import read_manifest
    from loopml.models.resolve import locate

    manifest = read_manifest(locate(uri).folder)
    return EnvReport(
        requirements=manifest.requirements,
        mismatches=check_requirements(manifest.requirements),
        python_required=manifest.python_version,
        python_running=platform.python_version(),
    )
