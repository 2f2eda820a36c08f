"""Pipelines: pipeline runs, their steps, step outputs (pinned objects) and lineage edges.

Revision ID: 0006
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0001"
branch_labels = ("pipeline",)
depends_on = None

ID = sa.String(32)
MS = sa.BigInteger()
AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _run_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["pipeline_run_id"],
        ["pipeline_runs.run_id"],
        ondelete="CASCADE",
        name=f"fk_{table}_pipeline_run_id_pipeline_runs",
    )


def upgrade() -> None:
    op.create_table(
        "pipeline_runs",
        sa.Column("run_id", ID, nullable=False),
        sa.Column("pipeline", sa.String(255), nullable=False),
        sa.Column("ref", sa.Text, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("executor", sa.String(64), nullable=False),
        sa.Column("use_cache", sa.Boolean, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("registered", sa.Text, nullable=False),
        sa.Column("graph", sa.Text, nullable=False),
        sa.Column("started_ms", MS, nullable=False),
        sa.Column("ended_ms", MS, nullable=True),
        sa.PrimaryKeyConstraint("run_id", name="pk_pipeline_runs"),
    )
    op.create_index(
        "ix_pipeline_runs_pipeline_started", "pipeline_runs", ["pipeline", "started_ms"]
    )
    op.create_index("ix_pipeline_runs_started_ms", "pipeline_runs", ["started_ms"])
    op.create_table(
        "pipeline_steps",
        sa.Column("pipeline_run_id", ID, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("step", sa.String(255), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cache_hit", sa.Boolean, nullable=False),
        sa.Column("cache_key", sa.String(64), nullable=True),
        sa.Column("components", sa.Text, nullable=True),
        sa.Column("run_id", ID, nullable=True),
        sa.Column("outputs", sa.Text, nullable=False),
        sa.Column("upstream", sa.Text, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("started_ms", MS, nullable=True),
        sa.Column("ended_ms", MS, nullable=True),
        sa.Column("duration_ms", sa.Float, nullable=True),
        sa.PrimaryKeyConstraint("pipeline_run_id", "name", name="pk_pipeline_steps"),
        _run_fk("pipeline_steps"),
    )
    op.create_index("ix_pipeline_steps_cache_key", "pipeline_steps", ["cache_key"])
    op.create_table(
        "pipeline_outputs",
        sa.Column("pipeline_run_id", ID, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("position", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("object_hash", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("materializer", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("pipeline_run_id", "name", "position", name="pk_pipeline_outputs"),
        _run_fk("pipeline_outputs"),
    )
    op.create_index("ix_pipeline_outputs_object_hash", "pipeline_outputs", ["object_hash"])
    op.create_table(
        "pipeline_edges",
        sa.Column("id", AUTO_ID, nullable=False, autoincrement=True),
        sa.Column("pipeline_run_id", ID, nullable=False),
        sa.Column("src", sa.String(512), nullable=False),
        sa.Column("dst", sa.String(512), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_pipeline_edges"),
        _run_fk("pipeline_edges"),
    )
    op.create_index("ix_pipeline_edges_pipeline_run_id", "pipeline_edges", ["pipeline_run_id"])
    op.create_index("ix_pipeline_edges_dst", "pipeline_edges", ["dst"])


def downgrade() -> None:
    op.drop_table("pipeline_edges")
    op.drop_table("pipeline_outputs")
    op.drop_table("pipeline_steps")
    op.drop_table("pipeline_runs")
