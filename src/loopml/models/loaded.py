"""A loaded package: ``predict`` checks input against the signature, then calls the flavor."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from loopml.errors import InvalidParameterError
from loopml.models.enforce import ExtraColumns, InputPlan
from loopml.models.example import read_example
from loopml.models.flavors import Predictor
from loopml.models.manifest import PackageManifest
from loopml.models.schema import Signature

__all__ = ["LoadedModel"]


class LoadedModel:
    """A model ready to predict. Build it with :func:`loopml.load_model`."""

    def __init__(
        self,
        path: Path,
        manifest: PackageManifest,
        predictor: Predictor,
        *,
        package_hash: str | None = None,
        extra_columns: ExtraColumns = "ignore",
    ) -> None:
        self.path = path
        self.manifest = manifest
        self.package_hash = package_hash
        self._predictor = predictor
        self._methods = predictor.methods
        self._default = manifest.method
        self._plan = InputPlan(manifest.signature, manifest.wants, extra_columns)

    def predict(self, data: Any, method: str | None = None) -> Any:
        """Predict on a DataFrame, numpy array, list of dicts or dict of columns.

        ``method="predict_proba"`` (or another method the model has) selects the output.
        """
        name = method or self._default
        if name not in self._methods:
            raise InvalidParameterError(
                f"this {self.manifest.flavor} model has no method {name!r}; it has "
                f"{', '.join(sorted(self._methods))}",
                method=name,
            )
        return self._predictor.predict(self._plan.prepare(data), name)

    @property
    def flavor(self) -> str:
        return self.manifest.flavor

    @property
    def methods(self) -> frozenset[str]:
        return self._methods

    @property
    def signature(self) -> Signature | None:
        return self.manifest.signature

    @property
    def metadata(self) -> dict[str, Any]:
        """The package manifest as a dict (flavor, requirements, python version, hashes, ...)."""
        body = self.manifest.to_dict()
        body["package_hash"] = self.package_hash
        return body

    @cached_property
    def input_example(self) -> Any:
        return read_example(self.path, self.manifest.input_example)

    @property
    def raw_model(self) -> Any:
        """The flavor's own model object (an estimator, booster, module or session)."""
        return getattr(self._predictor, "model", self._predictor)

    def __repr__(self) -> str:
        ident = self.package_hash[:12] if self.package_hash else str(self.path)
        return f"<LoadedModel {self.manifest.flavor} {ident}>"
