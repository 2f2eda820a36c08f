"""What registration reads from a logged model package: its identity and its manifest.

A package is a folder artifact of a run holding ``loopml-model.json``; the folder's manifest
hash is the package's identity, so registering reads two small objects and hashes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from loopml.errors import InvalidParameterError, LoopmlError, NotFoundError
from loopml.uris import ModelURI, RunArtifactURI, parse_uri

if TYPE_CHECKING:
    from loopml.store.metadata.entities import Run
    from loopml.tracking.context import Context

MANIFEST_FILE = "loopml-model.json"
_LOG_HINT = (
    "log a model inside a run with `info = loopml.log_model(model, 'model')` and register "
    "`info.uri`"
)


@dataclass(frozen=True)
class PackageInfo:
    source_uri: str
    run: Run
    path: str
    package_hash: str
    flavor: str | None
    signature: dict[str, Any] | None


def _flavor(manifest: dict[str, Any]) -> str | None:
    flavor = manifest.get("flavor")
    if isinstance(flavor, dict):
        flavor = flavor.get("name")
    return str(flavor) if flavor else None


def read_package(ctx: Context, uri: str) -> PackageInfo:
    """The package at ``runs:/<run_id>/<path>``; a clear error if there is none."""
    if not isinstance(uri, str):
        raise InvalidParameterError(
            f"register_model takes a URI string such as runs:/<run_id>/model, got {uri!r}"
        )
    parsed = parse_uri(uri)
    if isinstance(parsed, ModelURI):
        raise InvalidParameterError(
            f"{uri} is already registered; to give it another name, register its source run "
            "URI (see `loopml models show`)"
        )
    if not isinstance(parsed, RunArtifactURI):
        raise InvalidParameterError(
            f"register a model package URI (runs:/<run_id>/model), not {uri}"
        )
    if not parsed.path:
        raise InvalidParameterError(
            f"{uri} names a run, not a model in it: add the model's artifact path, e.g. "
            f"runs:/{parsed.run_id}/model"
        )
    meta = ctx.metadata
    try:
        run = meta.get_run(parsed.run_id)
    except NotFoundError:
        raise NotFoundError(
            f"cannot register {uri}: there is no run {parsed.run_id!r}; {_LOG_HINT}", uri=uri
        ) from None
    record = next((a for a in meta.list_artifacts(run.run_id) if a.path == parsed.path), None)
    if record is None:
        raise NotFoundError(
            f"cannot register {uri}: run {run.run_id} has no artifact {parsed.path!r} "
            f"(see `loopml artifacts ls runs:/{run.run_id}/`); {_LOG_HINT}",
            uri=uri,
        )
    not_a_package = InvalidParameterError(
        f"cannot register {uri}: it is not a model package (a folder with {MANIFEST_FILE}); "
        f"{_LOG_HINT}",
        uri=uri,
    )
    if record.kind != "dir":
        raise not_a_package
    folder = ctx.objects.read_manifest(record.object_hash)
    entry = folder.entries.get(MANIFEST_FILE)
    if entry is None:
        raise not_a_package
    try:
        manifest = orjson.loads(ctx.objects.get_bytes(entry.hash))
    except orjson.JSONDecodeError as exc:
        raise InvalidParameterError(
            f"cannot register {uri}: its {MANIFEST_FILE} is not valid JSON ({exc})"
        ) from None
    except LoopmlError:
        raise
    if not isinstance(manifest, dict):
        raise not_a_package
    signature = manifest.get("signature")
    return PackageInfo(
        source_uri=f"runs:/{run.run_id}/{parsed.path}",
        run=run,
        path=parsed.path,
        package_hash=record.object_hash,
        flavor=_flavor(manifest),
        signature=signature if isinstance(signature, dict) else None,
    )
