"""Continuous training: trigger events, controller runs, decisions, leases, watermarks.

Revision ID: 0008
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0001"
branch_labels = ("ct",)
depends_on = None

MS = sa.BigInteger()
AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ct_events",
        sa.Column("id", AUTO_ID, nullable=False, autoincrement=True),
        sa.Column("policy", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("key", sa.String(512), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=True),
        sa.Column("created_ms", MS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ct_events"),
        sa.UniqueConstraint("policy", "key", name="uq_ct_events_policy_key"),
    )
    op.create_index("ix_ct_events_policy_status", "ct_events", ["policy", "status"])
    op.create_table(
        "ct_runs",
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("policy", sa.String(255), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("pipeline_run_id", sa.String(64), nullable=True),
        sa.Column("candidate", sa.Text, nullable=True),
        sa.Column("champion", sa.Text, nullable=True),
        sa.Column("outcome", sa.Text, nullable=True),
        sa.Column("created_ms", MS, nullable=False),
        sa.Column("updated_ms", MS, nullable=False),
        sa.Column("finished_ms", MS, nullable=True),
        sa.PrimaryKeyConstraint("run_id", name="pk_ct_runs"),
    )
    op.create_index("ix_ct_runs_policy_created", "ct_runs", ["policy", "created_ms"])
    op.create_index(
        "ux_ct_runs_one_active",
        "ct_runs",
        ["policy"],
        unique=True,
        sqlite_where=sa.text("finished_ms IS NULL"),
        postgresql_where=sa.text("finished_ms IS NULL"),
    )
    op.create_table(
        "ct_decisions",
        sa.Column("id", AUTO_ID, nullable=False, autoincrement=True),
        sa.Column("policy", sa.String(255), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=True),
        sa.Column("ts_ms", MS, nullable=False),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("numbers", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ct_decisions"),
    )
    op.create_index("ix_ct_decisions_policy_ts", "ct_decisions", ["policy", "ts_ms"])
    op.create_table(
        "ct_leases",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("holder", sa.String(255), nullable=False),
        sa.Column("expires_ms", MS, nullable=False),
        sa.Column("acquired_ms", MS, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_ct_leases"),
    )
    op.create_table(
        "ct_watermarks",
        sa.Column("policy", sa.String(255), nullable=False),
        sa.Column("trigger", sa.String(512), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_ms", MS, nullable=False),
        sa.PrimaryKeyConstraint("policy", "trigger", name="pk_ct_watermarks"),
    )


def downgrade() -> None:
    op.drop_table("ct_watermarks")
    op.drop_table("ct_leases")
    op.drop_index("ix_ct_decisions_policy_ts", table_name="ct_decisions")
    op.drop_table("ct_decisions")
    op.drop_index("ux_ct_runs_one_active", table_name="ct_runs")
    op.drop_index("ix_ct_runs_policy_created", table_name="ct_runs")
    op.drop_table("ct_runs")
    op.drop_index("ix_ct_events_policy_status", table_name="ct_events")
    op.drop_table("ct_events")
