"""``diff``: what changed between two dataset versions, from their manifests and records alone.

Files are compared by content hash (no bytes are read). For tables the stored row counts and
schemas are compared, and when both versions carry a profile, the numbers each column's profile
holds (mean, missing, ...) are compared too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from loopml.data import _stores
from loopml.data.versions import resolve
from loopml.store.metadata.data_entities import DatasetVersion

__all__ = ["VersionDiff", "diff"]


@dataclass
class VersionDiff:
    a: DatasetVersion
    b: DatasetVersion
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    unchanged: int = 0
    rows: tuple[int | None, int | None] | None = None
    columns_added: list[str] = field(default_factory=list)
    columns_removed: list[str] = field(default_factory=list)
    type_changes: list[tuple[str, str, str]] = field(default_factory=list)  # (column, a, b)
    stats: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)

    @property
    def same_content(self) -> bool:
        return self.a.manifest_hash == self.b.manifest_hash

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a.uri,
            "b": self.b.uri,
            "same_content": self.same_content,
            "files": {
                "added": self.added,
                "removed": self.removed,
                "modified": self.modified,
                "unchanged": self.unchanged,
            },
            "size": [self.a.size, self.b.size],
            "table": None
            if self.rows is None
            else {
                "rows": list(self.rows),
                "columns_added": self.columns_added,
                "columns_removed": self.columns_removed,
                "type_changes": [
                    {"column": c, "a": ta, "b": tb} for c, ta, tb in self.type_changes
                ],
                "stats": {
                    col: {k: list(v) for k, v in changes.items()}
                    for col, changes in self.stats.items()
                },
            },
        }


def diff(a: str | DatasetVersion, b: str | DatasetVersion) -> VersionDiff:
    """Compare version ``a`` (the old one) with version ``b``."""
    va, vb = resolve(a), resolve(b)
    out = VersionDiff(va, vb)
    objects = _stores.object_store()
    ea = objects.read_manifest(va.manifest_hash).entries
    eb = objects.read_manifest(vb.manifest_hash).entries
    if va.layout == vb.layout == "file" and len(ea) == len(eb) == 1:
        # One file each: compare the content whatever the file was called.
        (_, xa), (nb, xb) = next(iter(ea.items())), next(iter(eb.items()))
        ea, eb = {nb: xa}, {nb: xb}
    for rel, entry in eb.items():
        before = ea.get(rel)
        if before is None:
            out.added.append(rel)
        elif before.hash != entry.hash:
            out.modified.append(rel)
        else:
            out.unchanged += 1
    out.removed = sorted(rel for rel in ea if rel not in eb)
    if va.is_table or vb.is_table:
        _table_diff(out)
    return out


def _table_diff(out: VersionDiff) -> None:
    out.rows = (out.a.num_rows, out.b.num_rows)
    types_a = {c["name"]: c["type"] for c in out.a.table_schema or []}
    types_b = {c["name"]: c["type"] for c in out.b.table_schema or []}
    out.columns_added = [c for c in types_b if c not in types_a]
    out.columns_removed = [c for c in types_a if c not in types_b]
    out.type_changes = [
        (c, types_a[c], types_b[c]) for c in types_b if c in types_a and types_a[c] != types_b[c]
    ]
    pa, pb = _columns(out.a.profile), _columns(out.b.profile)
    for column in sorted(set(pa) & set(pb)):
        changes = {
            key: (pa[column][key], pb[column][key])
            for key in sorted(set(pa[column]) & set(pb[column]))
            if _scalar(pa[column][key])
            and _scalar(pb[column][key])
            and pa[column][key] != pb[column][key]
        }
        if changes:
            out.stats[column] = changes


def _columns(profile: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Per-column stats of a profile: ``{"columns": {name: {...}}}`` or ``[{"name": ...}]``."""
    if not profile:
        return {}
    columns = profile.get("columns", profile)
    if isinstance(columns, list):
        return {c["name"]: c for c in columns if isinstance(c, dict) and "name" in c}
    if isinstance(columns, dict):
        return {k: v for k, v in columns.items() if isinstance(v, dict)}
    return {}


def _scalar(value: Any) -> bool:
    return isinstance(value, int | float | str | bool) or value is None
