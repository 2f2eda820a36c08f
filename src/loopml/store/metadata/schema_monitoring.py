"""SQL tables of monitoring (attached to ``schema.metadata``).

A window is computed once and stored with its metrics, so history is a cheap query. A cursor per
(deployment, window spec) says where the next window starts, so nothing is read twice. Labels
that arrive later join window snapshots (small Parquet objects: request id, row, prediction,
slice values) by request id; alerts keep their own history for the CT controller.
"""

from __future__ import annotations

import sqlalchemy as sa

from loopml.store.metadata.schema import OBJECT_REFERENCES, metadata

_MS = sa.BigInteger()
_AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

monitor_windows = sa.Table(
    "monitor_windows",
    metadata,
    sa.Column("id", _AUTO_ID, primary_key=True, autoincrement=True),
    sa.Column("deployment", sa.String(255), nullable=False),
    sa.Column("spec", sa.String(64), nullable=False),  # "1h", "requests=1000"
    sa.Column("model_version", sa.String(255), nullable=False),
    sa.Column("model_uri", sa.Text, nullable=False),
    sa.Column("start_ms", _MS, nullable=False),
    sa.Column("end_ms", _MS, nullable=False),
    sa.Column("requests", sa.BigInteger, nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("metrics", sa.Text, nullable=False),  # JSON: every number of the window
    sa.Column("snapshot_hash", sa.String(64), nullable=True),  # predictions for label joins
    sa.Column("labels_ms", _MS, nullable=True),  # feedback joined up to this time
    sa.Column("created_ms", _MS, nullable=False),
    sa.UniqueConstraint("deployment", "spec", "model_version", "start_ms"),
    sa.Index("ix_monitor_windows_deployment_end", "deployment", "end_ms"),
)

monitor_cursors = sa.Table(
    "monitor_cursors",
    metadata,
    sa.Column("deployment", sa.String(255), primary_key=True),
    sa.Column("spec", sa.String(64), primary_key=True),
    sa.Column("position", sa.Text, nullable=False),  # JSON: where the next window starts
    sa.Column("updated_ms", _MS, nullable=False),
)

monitor_feedback = sa.Table(
    "monitor_feedback",
    metadata,
    sa.Column("deployment", sa.String(255), primary_key=True),
    sa.Column("request_id", sa.String(128), primary_key=True),
    sa.Column("row", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("label", sa.Text, nullable=False),  # JSON scalar
    sa.Column("created_ms", _MS, nullable=False),
    sa.Index("ix_monitor_feedback_deployment_created", "deployment", "created_ms"),
)

monitor_alerts = sa.Table(
    "monitor_alerts",
    metadata,
    sa.Column("id", _AUTO_ID, primary_key=True, autoincrement=True),
    sa.Column("deployment", sa.String(255), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("value", sa.Float(precision=53), nullable=True),
    sa.Column("threshold", sa.Float(precision=53), nullable=True),
    sa.Column("window_id", sa.BigInteger, nullable=True),
    sa.Column("rule", sa.Text, nullable=False),
    sa.Column("created_ms", _MS, nullable=False),
    sa.Index("ix_monitor_alerts_deployment_created", "deployment", "created_ms"),
    sa.Index("ix_monitor_alerts_created", "created_ms"),
)

# Reference predictions of a model version on its training data, computed once.
monitor_references = sa.Table(
    "monitor_references",
    metadata,
    sa.Column("key", sa.String(160), primary_key=True),  # package hash + dataset digest
    sa.Column("object_hash", sa.String(64), nullable=False),
    sa.Column("created_ms", _MS, nullable=False),
)

OBJECT_REFERENCES.append((monitor_windows, "snapshot_hash", None))
OBJECT_REFERENCES.append((monitor_references, "object_hash", None))
