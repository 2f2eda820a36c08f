"""``write_build_context``: a folder ``docker build`` turns into a serving image for a package.

The image is small and boring on purpose: the slim Python image of the package's minor
version, the package's pinned requirements only, a non-root user, a health check, and
``loopml serve`` as the entry point. The package is copied in, so the image needs no access
to the object store.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from loopml._version import __version__
from loopml.errors import AlreadyExistsError
from loopml.models.requirements import requirement_name

__all__ = ["DOCKERFILE", "write_build_context"]

PORT = 8080
_LOCAL_LABEL = re.compile(r"(==[^+;\s]+)\+[A-Za-z0-9.]+")
MODEL_DIR = "/opt/model"

DOCKERFILE = """\
# syntax=docker/dockerfile:1
# Serving image for loopml model package {ident} ({flavor}); written by `loopml models dockerfile`.
FROM python:{python}-slim

ENV PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1 \\
    PIP_NO_CACHE_DIR=1 \\
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 loopml \\
 && useradd --system --uid 10001 --gid loopml --home-dir /home/loopml --create-home loopml

COPY requirements.txt /opt/requirements.txt
RUN pip install --no-cache-dir -r /opt/requirements.txt

COPY --chown=loopml:loopml model/ {model_dir}/

USER loopml
WORKDIR /home/loopml
EXPOSE {port}

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \\
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:{port}/health', timeout=4).status != 200)"]

ENTRYPOINT ["loopml", "serve", "{model_dir}", "--host", "0.0.0.0", "--port", "{port}"]
"""

DOCKERIGNORE = "**/__pycache__\n**/*.pyc\n"


def write_build_context(uri: str | Path, out_dir: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``Dockerfile``, ``requirements.txt``, ``.dockerignore`` and ``model/`` into
    ``out_dir``; returns the Dockerfile's path."""
    from loopml.models.manifest import read_manifest
    from loopml.models.resolve import locate

    located = locate(uri)
    manifest = read_manifest(located.folder)
    out = Path(out_dir)
    model_dir = out / "model"
    if model_dir.exists():
        if not overwrite:
            raise AlreadyExistsError(
                f"{model_dir} already exists: choose an empty output folder or pass "
                "overwrite=True (--force)",
                path=str(model_dir),
            )
        shutil.rmtree(model_dir)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(located.folder, model_dir)
    # A local build label (torch==2.13.0+cpu) names a wheel from a vendor's own index, which
    # a plain `pip install` in the image cannot see: pin the public release instead.
    requirements = [
        _LOCAL_LABEL.sub(r"\1", r) for r in manifest.requirements if requirement_name(r) != "loopml"
    ]
    # The serving image needs loopml's server, which the package does not pin (it needs only
    # loopml to load): the version that wrote the package, or this one.
    requirements.append(f"loopml=={manifest.loopml_version or __version__}")
    (out / "requirements.txt").write_text("\n".join(sorted(requirements)) + "\n")
    (out / ".dockerignore").write_text(DOCKERIGNORE)
    python = ".".join(manifest.python_version.split(".")[:2]) or "3.11"
    ident = located.package_hash[:12] if located.package_hash else located.folder.name
    dockerfile = out / "Dockerfile"
    dockerfile.write_text(
        DOCKERFILE.format(
            ident=ident, flavor=manifest.flavor, python=python, model_dir=MODEL_DIR, port=PORT
        )
    )
    return dockerfile
