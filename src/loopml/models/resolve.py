"""From a URI a user types to a verified package folder on local disk.

``runs:/`` and ``obj:`` URIs name a stored folder whose manifest hash is the package identity;
``models:/`` URIs are resolved by whoever registers a resolver for the scheme (the registry
does so when imported), so this module knows nothing of the registry. Stored packages are
downloaded once into ``<project>/.loopml/cache/models/<hash>`` and re-verified on every load.
"""

from __future__ import annotations

import contextlib
import importlib
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from loopml.errors import CorruptObjectError, InvalidParameterError, LoopmlError, NotFoundError
from loopml.models.manifest import MANIFEST_FILE, read_manifest
from loopml.store.objects import Manifest, ManifestEntry, hash_bytes, hash_file
from loopml.uris import ModelURI, ObjectURI, RunArtifactURI, parse_uri

__all__ = ["Located", "locate", "register_uri_resolver", "verify_files"]

UriResolver = Callable[[str], str]
_RESOLVERS: dict[str, UriResolver] = {}
_SCHEME_MODULES = {"models": "loopml.registry"}


def register_uri_resolver(scheme: str, resolver: UriResolver) -> None:
    """Let ``load_model`` resolve ``<scheme>:/...`` URIs: ``resolver(uri)`` -> package hash."""
    _RESOLVERS[scheme] = resolver


@dataclass(frozen=True)
class Located:
    folder: Path
    package_hash: str | None  # None for a plain local folder


def locate(uri: str | Path) -> Located:
    """A verified local folder for ``uri`` (a URI or a local package folder)."""
    text = str(uri)
    if isinstance(uri, Path) or not any(text.startswith(s) for s in ("runs:/", "models:/", "obj:")):
        folder = Path(text).expanduser()
        if not folder.is_dir():
            if ":" in text and not folder.exists():
                parse_uri(text)  # a malformed URI: its error lists the accepted forms
            raise NotFoundError(
                f"no model package at {text!r}: pass a package folder or a URI such as "
                "runs:/<run_id>/model, models:/<name>/<version>, models:/<name>@<alias> or "
                "obj:<hash>",
                uri=text,
            )
        verify_files(folder, read_manifest(folder).files)
        return Located(folder, None)
    parsed = parse_uri(text)
    if isinstance(parsed, ObjectURI):
        return from_store(parsed.hash)
    if isinstance(parsed, RunArtifactURI):
        return _from_run(parsed)
    if isinstance(parsed, ModelURI):
        return from_store(_resolver("models", text)(text))
    raise InvalidParameterError(f"{text} does not name a model package", uri=text)


def _resolver(scheme: str, uri: str) -> UriResolver:
    if scheme not in _RESOLVERS:
        try:
            importlib.import_module(_SCHEME_MODULES[scheme])
        except ImportError as exc:
            raise LoopmlError(
                f"cannot resolve {uri}: the model registry could not be imported ({exc}); "
                "load the model by its runs:/ URI or package folder instead",
                uri=uri,
            ) from None
    if scheme not in _RESOLVERS:
        raise LoopmlError(f"cannot resolve {uri}: no resolver is registered for {scheme}:/")
    return _RESOLVERS[scheme]


def _from_run(uri: RunArtifactURI) -> Located:
    from loopml.tracking.context import get_context

    if not uri.path:
        raise InvalidParameterError(
            f"{uri} names a run, not a model in it: add the artifact path, e.g. "
            f"runs:/{uri.run_id}/model"
        )
    ctx = get_context()
    records = ctx.metadata.list_artifacts(uri.run_id)
    for rec in records:
        if rec.path == uri.path and rec.kind == "dir":
            return from_store(rec.object_hash)
        if rec.kind == "dir" and uri.path.startswith(rec.path + "/"):
            inner = uri.path[len(rec.path) + 1 :] + "/"
            entries = ctx.objects.read_manifest(rec.object_hash).entries
            sub = {p[len(inner) :]: e for p, e in entries.items() if p.startswith(inner)}
            if sub:
                return _from_entries(sub, hash_bytes(Manifest(sub).to_bytes()))
    raise NotFoundError(
        f"run {uri.run_id} has no model folder {uri.path!r}; see `loopml artifacts ls "
        f"runs:/{uri.run_id}/` for what it logged",
        uri=str(uri),
    )


def from_store(package_hash: str) -> Located:
    from loopml.tracking.context import get_context

    entries = get_context().objects.read_manifest(package_hash).entries
    return _from_entries(entries, package_hash)


def _from_entries(entries: dict[str, ManifestEntry], key: str) -> Located:
    from loopml.tracking.context import get_context

    ctx = get_context()
    if MANIFEST_FILE not in entries:
        raise InvalidParameterError(
            f"object {key} is a folder but not a model package (it has no {MANIFEST_FILE})",
            hash=key,
        )
    expected = {path: e.hash for path, e in entries.items()}
    cache = ctx.settings.state_dir / "cache" / "models"
    folder = cache / key
    if not folder.is_dir():
        cache.mkdir(parents=True, exist_ok=True)
        temp = Path(tempfile.mkdtemp(dir=cache, prefix=f".{key[:12]}."))
        try:
            for path, entry in sorted(entries.items()):
                try:
                    ctx.objects.get_file(entry.hash, temp.joinpath(*path.split("/")))
                except CorruptObjectError as exc:
                    raise _corrupt(path, f"its stored object is corrupt ({exc.message})") from None
            with contextlib.suppress(OSError):  # another process cached it first
                temp.rename(folder)
        finally:
            shutil.rmtree(temp, ignore_errors=True)
    verify_files(folder, expected)
    return Located(folder, key)


def verify_files(folder: Path, expected: dict[str, str]) -> None:
    """Every listed file is present with its hash, else ``CORRUPT_OBJECT`` naming the file."""
    for path, digest in expected.items():
        file = folder.joinpath(*path.split("/"))
        try:
            actual = hash_file(file)
        except FileNotFoundError:
            raise _corrupt(path, f"it is missing from {folder}") from None
        if actual != digest:
            raise _corrupt(path, f"{file} hashes to {actual}, its manifest says {digest}")


def _corrupt(path: str, why: str) -> CorruptObjectError:
    return CorruptObjectError(
        f"model package file {path!r} does not match the package: {why}. The package was "
        "modified or damaged; delete the local copy (the cache is rebuilt from the store) or "
        "log the model again",
        file=path,
    )
