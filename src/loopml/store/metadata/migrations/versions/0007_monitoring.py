"""Monitoring: windows, cursors, feedback labels, alerts and cached reference predictions.

Revision ID: 0007
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0001"
branch_labels = ("monitoring",)
depends_on = None

MS = sa.BigInteger()
AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "monitor_windows",
        sa.Column("id", AUTO_ID, nullable=False, autoincrement=True),
        sa.Column("deployment", sa.String(255), nullable=False),
        sa.Column("spec", sa.String(64), nullable=False),
        sa.Column("model_version", sa.String(255), nullable=False),
        sa.Column("model_uri", sa.Text, nullable=False),
        sa.Column("start_ms", MS, nullable=False),
        sa.Column("end_ms", MS, nullable=False),
        sa.Column("requests", sa.BigInteger, nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("metrics", sa.Text, nullable=False),
        sa.Column("snapshot_hash", sa.String(64), nullable=True),
        sa.Column("labels_ms", MS, nullable=True),
        sa.Column("created_ms", MS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_monitor_windows"),
        sa.UniqueConstraint(
            "deployment",
            "spec",
            "model_version",
            "start_ms",
            name="uq_monitor_windows_deployment_spec_model_version_start_ms",
        ),
    )
    op.create_index(
        "ix_monitor_windows_deployment_end", "monitor_windows", ["deployment", "end_ms"]
    )
    op.create_table(
        "monitor_cursors",
        sa.Column("deployment", sa.String(255), nullable=False),
        sa.Column("spec", sa.String(64), nullable=False),
        sa.Column("position", sa.Text, nullable=False),
        sa.Column("updated_ms", MS, nullable=False),
        sa.PrimaryKeyConstraint("deployment", "spec", name="pk_monitor_cursors"),
    )
    op.create_table(
        "monitor_feedback",
        sa.Column("deployment", sa.String(255), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("row", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("created_ms", MS, nullable=False),
        sa.PrimaryKeyConstraint("deployment", "request_id", "row", name="pk_monitor_feedback"),
    )
    op.create_index(
        "ix_monitor_feedback_deployment_created",
        "monitor_feedback",
        ["deployment", "created_ms"],
    )
    op.create_table(
        "monitor_alerts",
        sa.Column("id", AUTO_ID, nullable=False, autoincrement=True),
        sa.Column("deployment", sa.String(255), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("value", sa.Float(precision=53), nullable=True),
        sa.Column("threshold", sa.Float(precision=53), nullable=True),
        sa.Column("window_id", sa.BigInteger, nullable=True),
        sa.Column("rule", sa.Text, nullable=False),
        sa.Column("created_ms", MS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_monitor_alerts"),
    )
    op.create_index(
        "ix_monitor_alerts_deployment_created", "monitor_alerts", ["deployment", "created_ms"]
    )
    op.create_index("ix_monitor_alerts_created", "monitor_alerts", ["created_ms"])
    op.create_table(
        "monitor_references",
        sa.Column("key", sa.String(160), nullable=False),
        sa.Column("object_hash", sa.String(64), nullable=False),
        sa.Column("created_ms", MS, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_monitor_references"),
    )


def downgrade() -> None:
    op.drop_table("monitor_references")
    op.drop_index("ix_monitor_alerts_created", table_name="monitor_alerts")
    op.drop_index("ix_monitor_alerts_deployment_created", table_name="monitor_alerts")
    op.drop_table("monitor_alerts")
    op.drop_index("ix_monitor_feedback_deployment_created", table_name="monitor_feedback")
    op.drop_table("monitor_feedback")
    op.drop_table("monitor_cursors")
    op.drop_index("ix_monitor_windows_deployment_end", table_name="monitor_windows")
    op.drop_table("monitor_windows")
