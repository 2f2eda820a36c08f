"""``loopml-model.json``: what a package is, what it needs, and the hash of every file in it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from loopml.errors import CorruptObjectError, InvalidParameterError, NotFoundError
from loopml.models.enforce import InputKind
from loopml.models.schema import Signature

__all__ = ["FORMAT", "MANIFEST_FILE", "PackageManifest", "read_manifest"]

MANIFEST_FILE = "loopml-model.json"
FORMAT = "loopml-model/1"


@dataclass(frozen=True)
class PackageManifest:
    flavor: str
    loader: str
    flavor_options: dict[str, Any]
    wants: InputKind
    method: str
    methods: list[str]
    signature: Signature | None
    input_example: dict[str, str] | None
    requirements: list[str]
    python_version: str
    files: dict[str, str]
    created_ms: int
    loopml_version: str
    metadata: dict[str, Any] = field(default_factory=dict)
    format: str = FORMAT

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "flavor": self.flavor,
            "loader": self.loader,
            "flavor_options": self.flavor_options,
            "input": self.wants,
            "method": self.method,
            "methods": self.methods,
            "signature": self.signature.to_dict() if self.signature else None,
            "input_example": self.input_example,
            "requirements": self.requirements,
            "python_version": self.python_version,
            "files": self.files,
            "created_ms": self.created_ms,
            "loopml_version": self.loopml_version,
            "metadata": self.metadata,
        }

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.to_dict(), option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> PackageManifest:
        if body.get("format") != FORMAT:
            raise InvalidParameterError(
                f"unsupported model package format {body.get('format')!r} (this loopml reads "
                f"{FORMAT}); upgrade loopml to load it"
            )
        signature = body.get("signature")
        return cls(
            flavor=str(body["flavor"]),
            loader=str(body["loader"]),
            flavor_options=dict(body.get("flavor_options") or {}),
            wants=_input_kind(body.get("input")),
            method=str(body.get("method", "predict")),
            methods=list(body.get("methods") or ["predict"]),
            signature=Signature.from_dict(signature) if signature else None,
            input_example=body.get("input_example"),
            requirements=list(body.get("requirements") or []),
            python_version=str(body.get("python_version", "")),
            files=dict(body["files"]),
            created_ms=int(body.get("created_ms", 0)),
            loopml_version=str(body.get("loopml_version", "")),
            metadata=dict(body.get("metadata") or {}),
        )


def _input_kind(value: Any) -> InputKind:
    kinds: tuple[InputKind, ...] = ("frame", "array", "any", "native")
    return next((k for k in kinds if k == value), "any")


def read_manifest(folder: Path) -> PackageManifest:
    path = folder / MANIFEST_FILE
    if not path.is_file():
        raise NotFoundError(
            f"{folder} is not a loopml model package: it has no {MANIFEST_FILE}; save one with "
            "loopml.models.save_model or log one with loopml.log_model",
            path=str(folder),
        )
    try:
        body = orjson.loads(path.read_bytes())
        if not isinstance(body, dict):
            raise TypeError("not a JSON object")
        return PackageManifest.from_dict(body)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, InvalidParameterError):
            raise
        raise CorruptObjectError(
            f"{path} is not a valid model manifest ({exc}); the package is damaged: log or "
            "save the model again",
            path=str(path),
        ) from None
