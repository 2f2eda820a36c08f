"""SQL tables of deployments (attached to ``schema.metadata``).

A deployment's configuration is never updated in place: every change appends a version, and
``deployments.current_version`` points at the one in force, so a rollback is one more version
and the history stays whole. Live counters are written by serving processes per route.
``payload_files`` indexes the payload log: each row is one Parquet object (a flushed batch of
requests) in the object store, found by deployment and time without listing the store.
"""

from __future__ import annotations

import sqlalchemy as sa

from loopml.store.metadata.schema import OBJECT_REFERENCES, metadata

_MS = sa.BigInteger()

deployments = sa.Table(
    "deployments",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("current_version", sa.Integer, nullable=False),
    sa.Column("created_ms", _MS, nullable=False),
    sa.Column("updated_ms", _MS, nullable=False),
)

deployment_versions = sa.Table(
    "deployment_versions",
    metadata,
    sa.Column(
        "name",
        sa.String(255),
        sa.ForeignKey("deployments.name", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("config", sa.Text, nullable=False),  # JSON, read by loopml.serving
    sa.Column("message", sa.Text, nullable=True),  # what changed: "create", "promote", ...
    sa.Column("user", sa.String(256), nullable=True),
    sa.Column("created_ms", _MS, nullable=False),
)

deployment_counters = sa.Table(
    "deployment_counters",
    metadata,
    sa.Column(
        "name",
        sa.String(255),
        sa.ForeignKey("deployments.name", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("route", sa.String(255), primary_key=True),
    sa.Column("model_uri", sa.Text, nullable=False),
    sa.Column("requests", sa.BigInteger, nullable=False),
    sa.Column("errors", sa.BigInteger, nullable=False),
    sa.Column("latency_ms_sum", sa.Float, nullable=False),
    sa.Column("updated_ms", _MS, nullable=False),
    # payload-log events this route lost because the writer's queue was full
    sa.Column("dropped", sa.BigInteger, nullable=False, server_default="0"),
)

payload_files = sa.Table(
    "payload_files",
    metadata,
    sa.Column("deployment", sa.String(255), primary_key=True),
    sa.Column("object_hash", sa.String(64), primary_key=True),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("min_ts_ms", _MS, nullable=False),
    sa.Column("max_ts_ms", _MS, nullable=False),
    sa.Column("created_ms", _MS, nullable=False),
    sa.Index("ix_payload_files_deployment_max_ts_ms", "deployment", "max_ts_ms"),
)

OBJECT_REFERENCES.append((payload_files, "object_hash", None))
