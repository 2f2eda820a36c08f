"""``load_model``: any model URI or package folder to a :class:`LoadedModel`."""

from __future__ import annotations

from pathlib import Path

from loopml.models.enforce import ExtraColumns
from loopml.models.flavors import get_flavor
from loopml.models.loaded import LoadedModel
from loopml.models.manifest import read_manifest
from loopml.models.resolve import locate

__all__ = ["load_model"]


def load_model(uri: str | Path, *, extra_columns: ExtraColumns = "ignore") -> LoadedModel:
    """Load a package from ``runs:/<run_id>/<path>``, ``models:/<name>/<version>``,
    ``models:/<name>@<alias>``, ``obj:<hash>`` or a local folder, verifying every file's hash.

    ``extra_columns="reject"`` makes ``predict`` refuse columns the signature does not list.
    """
    located = locate(uri)
    manifest = read_manifest(located.folder)
    # The loader is looked up by flavor name in loopml's own table, never imported from the
    # manifest's text: a package cannot make loopml import a module of its choosing.
    predictor = get_flavor(manifest.flavor).load(located.folder, manifest.flavor_options)
    return LoadedModel(
        located.folder,
        manifest,
        predictor,
        package_hash=located.package_hash,
        extra_columns=extra_columns,
    )
