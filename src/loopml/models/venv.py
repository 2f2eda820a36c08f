"""``build_env``: build a fresh virtual environment from a package's requirements and prove it.

The proof is the one that matters to a deployment: in the new environment, in a separate
process, the package loads and predicts its own input example, and the predictions equal
those of the building process. uv is used when it is on PATH (much faster), else venv + pip.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from loopml.errors import InvalidParameterError, InvalidStateError
from loopml.models.requirements import requirement_name

__all__ = ["EnvBuild", "build_env", "loopml_install_args"]

_PROBE = """
import json, sys
import numpy as np
from loopml.models import load_model
from loopml.models.environment import check_requirements
model = load_model(sys.argv[1])
out = model.predict(model.input_example)
out = out.to_numpy() if hasattr(out, "to_numpy") else np.asarray(out)
print(json.dumps({
    "output": out.tolist(),
    "mismatches": [str(m) for m in check_requirements(model.manifest.requirements)],
}))
"""


@dataclass(frozen=True)
class EnvBuild:
    venv_dir: Path
    python: Path
    installer: str
    installed: list[str]
    seconds: float
    output: Any = None
    same_as_here: bool | None = None
    mismatches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches and self.same_as_here is not False

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "venv": str(self.venv_dir),
            "python": str(self.python),
            "installer": self.installer,
            "installed": self.installed,
            "seconds": round(self.seconds, 1),
            "same_predictions_as_here": self.same_as_here,
            "mismatches": self.mismatches,
        }


def loopml_install_args() -> list[str]:
    """How to install the running loopml elsewhere: its source folder when installed from one
    (editable or local path), else the same released version."""
    dist = metadata.distribution("loopml")
    text = dist.read_text("direct_url.json")
    if text:
        body = json.loads(text)
        url = str(body.get("url", ""))
        if url.startswith("file://"):
            from urllib.parse import unquote, urlsplit

            path = unquote(urlsplit(url).path)
            return ["-e", path] if body.get("dir_info", {}).get("editable") else [path]
    return [f"loopml=={dist.version}"]


def build_env(uri: str | Path, venv_dir: str | Path, *, timeout: float = 1800.0) -> EnvBuild:
    """Create (or update) a venv at ``venv_dir`` with the package's pinned requirements,
    then load the package there and predict its input example in a subprocess."""
    from loopml.models.load import load_model
    from loopml.models.manifest import read_manifest
    from loopml.models.resolve import locate

    started = time.monotonic()
    folder = locate(uri).folder
    manifest = read_manifest(folder)
    if manifest.input_example is None:
        raise InvalidParameterError(
            "this package has no input example, so its environment cannot be proven: log it "
            "again with input_example="
        )
    target = Path(venv_dir).absolute()
    if target.exists() and any(target.iterdir()) and not (target / "pyvenv.cfg").is_file():
        raise InvalidParameterError(
            f"{target} exists and is not a virtual environment: choose an empty or new folder"
        )
    requirements = [r for r in manifest.requirements if requirement_name(r) != "loopml"]
    install = [*requirements, *loopml_install_args()]
    uv = shutil.which("uv")
    python = target / "bin" / "python"
    if uv:
        _run([uv, "venv", "--allow-existing", "--python", sys.executable, str(target)], timeout)
        _run([uv, "pip", "install", "--python", str(python), *install], timeout)
    else:
        if not python.exists():
            _run([sys.executable, "-m", "venv", str(target)], timeout)
        _run(
            [str(python), "-m", "pip", "install", "--disable-pip-version-check", *install], timeout
        )
    probe = _run([str(python), "-c", _PROBE, str(folder)], timeout)
    result = json.loads(probe.strip().splitlines()[-1])
    same: bool | None = None
    try:
        import numpy as np

        here = load_model(folder)
        expected = here.predict(here.input_example)
        expected = expected.to_numpy() if hasattr(expected, "to_numpy") else np.asarray(expected)
        same = bool(np.array_equal(np.asarray(result["output"]), expected))
    except (
        ImportError,
        InvalidParameterError,
    ):  # this process lacks the flavor's library: nothing to compare
        same = None
    return EnvBuild(
        venv_dir=target,
        python=python,
        installer="uv" if uv else "pip",
        installed=install,
        seconds=time.monotonic() - started,
        output=result["output"],
        same_as_here=same,
        mismatches=list(result.get("mismatches", [])),
    )


def _run(cmd: list[str], timeout: float) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise InvalidStateError(
            f"{' '.join(cmd[:3])} ... took longer than {timeout:.0f} s"
        ) from None
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise InvalidStateError(
            f"building the model's environment failed at `{' '.join(cmd[:4])} ...` "
            f"(exit {done.returncode}):\n{tail}",
            command=cmd[:4],
        )
    return done.stdout
