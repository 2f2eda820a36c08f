"""SQL tables of dataset versions and of the runs that read them (attached to ``schema.metadata``).

A version row is written last, in one transaction, after every object it names is stored: a
crash before that leaves unreferenced objects (which gc removes), never a version that points at
missing bytes. ``kind`` is always ``"dir"`` (the manifest hash names a directory manifest), so
gc keeps the files a version lists.
"""

from __future__ import annotations

import sqlalchemy as sa

from loopml.store.metadata.schema import OBJECT_REFERENCES, metadata

_MS = sa.BigInteger()

dataset_versions = sa.Table(
    "dataset_versions",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("manifest_hash", sa.String(64), nullable=False, index=True),
    sa.Column("kind", sa.String(8), nullable=False, server_default="dir"),
    sa.Column("layout", sa.String(8), nullable=False),  # "file" or "folder"
    sa.Column("file_count", sa.BigInteger, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("message", sa.Text, nullable=True),
    sa.Column("author", sa.String(256), nullable=True),
    sa.Column("git_commit", sa.String(64), nullable=True),
    sa.Column("source_path", sa.Text, nullable=True),
    sa.Column("created_ms", _MS, nullable=False),
    sa.Column("table_format", sa.String(16), nullable=True),  # "parquet", "csv" or NULL
    sa.Column("num_rows", sa.BigInteger, nullable=True),
    sa.Column("table_schema", sa.Text, nullable=True),  # JSON: [{"name", "type", "nullable"}]
    sa.Column("profile", sa.Text, nullable=True),  # JSON, written by loopml.data.profile
)

run_inputs = sa.Table(
    "run_inputs",
    metadata,
    sa.Column("run_id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("context", sa.String(64), nullable=False, server_default="training"),
    sa.Column("created_ms", _MS, nullable=False),
    sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], ondelete="CASCADE"),
    sa.ForeignKeyConstraint(
        ["name", "version"], ["dataset_versions.name", "dataset_versions.version"]
    ),
    sa.Index("ix_run_inputs_name_version", "name", "version"),
)

OBJECT_REFERENCES.append((dataset_versions, "manifest_hash", "kind"))
