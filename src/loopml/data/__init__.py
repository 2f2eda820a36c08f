"""``loopml.data``: dataset versions, the workspace, provenance, profiles, validation and drift.

Names load on first use (PEP 562) so that ``import loopml.data`` pulls in neither pyarrow nor
a database driver. Each capability registers its names in :data:`_LAZY` (name -> module).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loopml.data._drift.core import drift
    from loopml.data._drift.report import ColumnDrift, DriftReport
    from loopml.data._drift.samples import DriftReference
    from loopml.data.checkouts import checkout
    from loopml.data.diffs import VersionDiff, diff
    from loopml.data.profiling import (
        ColumnProfile,
        DatasetProfile,
        profile,
        profile_from_json,
        profile_to_json,
    )
    from loopml.data.provenance import inputs_of_run, log_input, runs_of_version
    from loopml.data.schema import ColumnSchema, DataSchema, infer_schema
    from loopml.data.tables import read_table
    from loopml.data.transfer import TransferReport, pull, push
    from loopml.data.validation import Anomaly, ValidationFailedError, ValidationReport, validate
    from loopml.data.versions import (
        DatasetVersion,
        add,
        get_version,
        list_datasets,
        list_versions,
        resolve,
        set_profile,
    )
    from loopml.data.workspace import WorkspaceStatus, status

_LAZY: dict[str, str] = {
    # versions and the workspace
    "DatasetVersion": "loopml.data.versions",
    "add": "loopml.data.versions",
    "get_version": "loopml.data.versions",
    "list_datasets": "loopml.data.versions",
    "list_versions": "loopml.data.versions",
    "resolve": "loopml.data.versions",
    "set_profile": "loopml.data.versions",
    "read_table": "loopml.data.tables",
    "checkout": "loopml.data.checkouts",
    "status": "loopml.data.workspace",
    "WorkspaceStatus": "loopml.data.workspace",
    "push": "loopml.data.transfer",
    "pull": "loopml.data.transfer",
    "TransferReport": "loopml.data.transfer",
    "diff": "loopml.data.diffs",
    "VersionDiff": "loopml.data.diffs",
    # provenance
    "log_input": "loopml.data.provenance",
    "inputs_of_run": "loopml.data.provenance",
    "runs_of_version": "loopml.data.provenance",
    # profiles, schema, validation and drift: added by their modules' owner below this line
    "profile": "loopml.data.profiling",
    "profile_to_json": "loopml.data.profiling",
    "profile_from_json": "loopml.data.profiling",
    "DatasetProfile": "loopml.data.profiling",
    "ColumnProfile": "loopml.data.profiling",
    "infer_schema": "loopml.data.schema",
    "DataSchema": "loopml.data.schema",
    "ColumnSchema": "loopml.data.schema",
    "validate": "loopml.data.validation",
    "ValidationReport": "loopml.data.validation",
    "ValidationFailedError": "loopml.data.validation",
    "Anomaly": "loopml.data.validation",
    "drift": "loopml.data._drift.core",
    "DriftReport": "loopml.data._drift.report",
    "ColumnDrift": "loopml.data._drift.report",
    "DriftReference": "loopml.data._drift.samples",
}

__all__ = [
    "Anomaly",
    "ColumnDrift",
    "ColumnProfile",
    "ColumnSchema",
    "DataSchema",
    "DatasetProfile",
    "DatasetVersion",
    "DriftReference",
    "DriftReport",
    "TransferReport",
    "ValidationFailedError",
    "ValidationReport",
    "VersionDiff",
    "WorkspaceStatus",
    "add",
    "checkout",
    "diff",
    "drift",
    "get_version",
    "infer_schema",
    "inputs_of_run",
    "list_datasets",
    "list_versions",
    "log_input",
    "profile",
    "profile_from_json",
    "profile_to_json",
    "pull",
    "push",
    "read_table",
    "resolve",
    "runs_of_version",
    "set_profile",
    "status",
    "validate",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'loopml.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(__all__) | set(globals()))
