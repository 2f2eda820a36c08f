"""``save_model``: a model becomes a package folder (flavor files + example + manifest).

The package is loaded back once before its manifest is written, so a model that cannot be
loaded (an unimportable class, a missing library) fails at save time, where the author can fix
it, not at deploy time; that same load predicts on the example to infer the output schema.
"""

from __future__ import annotations

import platform
import shutil
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from loopml._version import __version__
from loopml.errors import AlreadyExistsError, InvalidParameterError, LoopmlError
from loopml.models.enforce import InputPlan
from loopml.models.example import write_example
from loopml.models.flavors import FLAVORS, Flavor, detect_flavor, get_flavor
from loopml.models.manifest import MANIFEST_FILE, PackageManifest
from loopml.models.requirements import pin
from loopml.models.schema import Signature, infer_schema
from loopml.store.objects import hash_file

__all__ = ["hash_package_files", "save_model"]


def save_model(
    model: Any,
    path: str | Path,
    *,
    input_example: Any = None,
    flavor: str | None = None,
    method: str | None = None,
    pip_requirements: list[str] | None = None,
    artifacts: Mapping[str, str | Path] | None = None,
    metadata: Mapping[str, Any] | None = None,
    flavor_options: Mapping[str, Any] | None = None,
) -> PackageManifest:
    """Write ``model`` as a package folder at ``path`` (which must not exist or be empty)."""
    folder = Path(path)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise AlreadyExistsError(
            f"cannot save a model to {folder}: it already exists and is not empty; choose a "
            "new path or remove it",
            path=str(folder),
        )
    name = flavor or detect_flavor(model)
    impl = get_flavor(name)
    options = dict(flavor_options or {})
    if artifacts:
        if name != "python":
            raise InvalidParameterError(
                "artifacts= are for loopml.PythonModel packages; other flavors carry their "
                "model files themselves"
            )
        options["artifacts"] = {k: str(v) for k, v in artifacts.items()}
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        manifest = _write(model, folder, name, impl, options, input_example, method, metadata)
        manifest = replace(
            manifest, requirements=_requirements(manifest.requirements, pip_requirements)
        )
        try:
            data = manifest.to_bytes()
        except TypeError as exc:
            raise InvalidParameterError(
                f"metadata and flavor options must be JSON values: {exc}"
            ) from None
        (folder / MANIFEST_FILE).write_bytes(data)
    except BaseException:
        # A half-written package must not look like a package: remove what was written.
        if created:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            _empty(folder)
        raise
    return manifest


def _write(
    model: Any,
    folder: Path,
    name: str,
    impl: Flavor,
    options: dict[str, Any],
    input_example: Any,
    method: str | None,
    metadata: Mapping[str, Any] | None,
) -> PackageManifest:
    saved = impl.save(model, folder, options)
    if metadata and name == "python":  # a PythonModel sees it as context.metadata
        saved.options.setdefault("metadata", dict(metadata))
    predictor = impl.load(folder, saved.options)
    chosen = method or "predict"
    if chosen not in predictor.methods:
        raise InvalidParameterError(
            f"this {name} model has no method {chosen!r}; it has "
            f"{', '.join(sorted(predictor.methods))}",
            method=chosen,
        )
    signature = None
    example_entry = None
    if input_example is not None:
        inputs = infer_schema(input_example)
        plan = InputPlan(Signature(inputs), saved.wants)
        try:
            prediction = predictor.predict(plan.prepare(input_example), chosen)
        except LoopmlError:
            raise
        except Exception as exc:
            raise InvalidParameterError(
                f"the model could not {chosen} on its input example ({type(exc).__name__}: "
                f"{exc}); pass an example shaped like the model's training input"
            ) from exc
        try:
            outputs = infer_schema(prediction)
        except (InvalidParameterError, TypeError, ValueError):
            outputs = None
        signature = Signature(inputs, outputs)
        example_entry = write_example(input_example, folder)
    return PackageManifest(
        flavor=name,
        loader=FLAVORS[name],
        flavor_options=saved.options,
        wants=saved.wants,
        method=chosen,
        methods=sorted(predictor.methods),
        signature=signature,
        input_example=example_entry,
        requirements=saved.requirements,
        python_version=platform.python_version(),
        files=hash_package_files(folder),
        created_ms=time.time_ns() // 1_000_000,
        loopml_version=__version__,
        metadata=dict(metadata or {}),
    )


def _empty(folder: Path) -> None:
    for child in folder.iterdir():
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink()


def hash_package_files(folder: Path) -> dict[str, str]:
    """BLAKE3 of every file in the package except the manifest that lists them."""
    return {
        file.relative_to(folder).as_posix(): hash_file(file)
        for file in sorted(folder.rglob("*"))
        if file.is_file() and file.name != MANIFEST_FILE
    }


def _requirements(needed: list[str], extra: list[str] | None) -> list[str]:
    from packaging.requirements import InvalidRequirement, Requirement

    pinned = pin(needed)
    for text in extra or []:
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            raise InvalidParameterError(f"pip requirement {text!r} is not valid: {exc}") from None
        if req.specifier or req.url:
            pinned.append(str(req))
        else:
            pinned.extend(pin([req.name]) or [req.name])
    return sorted(set(pinned))
