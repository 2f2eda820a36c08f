"""Parsing of the identifiers a user types: ``runs:/``, ``models:/``, ``data:/``, ``obj:``.

Parsing is strict so that a typo fails here, with the accepted forms in the message, rather
than as a confusing lookup miss later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from loopml.errors import InvalidParameterError

__all__ = ["DataURI", "ModelURI", "ObjectURI", "RunArtifactURI", "parse_uri"]

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,254}$")


@dataclass(frozen=True)
class RunArtifactURI:
    run_id: str
    path: str  # "" is the run's artifact root

    def __str__(self) -> str:
        return f"runs:/{self.run_id}/{self.path}"


@dataclass(frozen=True)
class ModelURI:
    name: str
    version: int | None = None
    alias: str | None = None

    def __str__(self) -> str:
        return (
            f"models:/{self.name}@{self.alias}"
            if self.alias
            else f"models:/{self.name}/{self.version}"
        )


@dataclass(frozen=True)
class DataURI:
    name: str
    version: int | None = None
    alias: str | None = None  # "latest" or a user alias

    def __str__(self) -> str:
        return (
            f"data:/{self.name}@{self.alias}" if self.alias else f"data:/{self.name}/{self.version}"
        )


@dataclass(frozen=True)
class ObjectURI:
    hash: str

    def __str__(self) -> str:
        return f"obj:{self.hash}"


AnyURI = RunArtifactURI | ModelURI | DataURI | ObjectURI


def _bad(uri: str, why: str) -> InvalidParameterError:
    return InvalidParameterError(
        f"{uri!r} is not a valid loopml URI: {why}. Accepted forms: runs:/<run_id>/<path>, "
        "models:/<name>/<version>, models:/<name>@<alias>, data:/<name>/<version>, "
        "data:/<name>@latest, obj:<blake3 hex>",
        uri=uri,
    )


def _named(uri: str, rest: str) -> tuple[str, int | None, str | None]:
    if "@" in rest:
        name, alias = rest.split("@", 1)
        if not _NAME.match(name) or not _NAME.match(alias):
            raise _bad(uri, "name and alias may use letters, digits, '_', '.' and '-'")
        return name, None, alias
    parts = rest.split("/")
    if len(parts) != 2 or not _NAME.match(parts[0]) or not parts[1].isdigit():
        raise _bad(uri, "expected <name>/<version number> or <name>@<alias>")
    return parts[0], int(parts[1]), None


def parse_uri(uri: str) -> AnyURI:
    """Parse any loopml URI into its typed form."""
    if uri.startswith("runs:/"):
        rest = uri[len("runs:/") :]
        run_id, _, path = rest.partition("/")
        if not run_id:
            raise _bad(uri, "the run id is missing")
        return RunArtifactURI(run_id, path.strip("/"))
    if uri.startswith("models:/"):
        return ModelURI(*_named(uri, uri[len("models:/") :]))
    if uri.startswith("data:/"):
        return DataURI(*_named(uri, uri[len("data:/") :]))
    if uri.startswith("obj:"):
        digest = uri[len("obj:") :]
        if not _HEX64.match(digest):
            raise _bad(uri, "an object hash is 64 lowercase hex digits")
        return ObjectURI(digest)
    raise _bad(uri, "unknown scheme")
