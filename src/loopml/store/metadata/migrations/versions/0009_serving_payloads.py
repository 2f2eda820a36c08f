"""Serving: the payload-log index (one row per Parquet object) and per-route drop counters.

Revision ID: 0009
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0005"
branch_labels = None
depends_on = None

MS = sa.BigInteger()


def upgrade() -> None:
    op.create_table(
        "payload_files",
        sa.Column("deployment", sa.String(255), nullable=False),
        sa.Column("object_hash", sa.String(64), nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("min_ts_ms", MS, nullable=False),
        sa.Column("max_ts_ms", MS, nullable=False),
        sa.Column("created_ms", MS, nullable=False),
        sa.PrimaryKeyConstraint("deployment", "object_hash", name="pk_payload_files"),
    )
    op.create_index(
        "ix_payload_files_deployment_max_ts_ms", "payload_files", ["deployment", "max_ts_ms"]
    )
    with op.batch_alter_table("deployment_counters") as batch:
        batch.add_column(sa.Column("dropped", sa.BigInteger, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("deployment_counters") as batch:
        batch.drop_column("dropped")
    op.drop_index("ix_payload_files_deployment_max_ts_ms", table_name="payload_files")
    op.drop_table("payload_files")
