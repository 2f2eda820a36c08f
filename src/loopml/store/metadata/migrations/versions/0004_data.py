"""Data: dataset versions and the runs that read them.

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = ("data",)
depends_on = None

MS = sa.BigInteger()


def upgrade() -> None:
    op.create_table(
        "dataset_versions",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("manifest_hash", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False, server_default="dir"),
        sa.Column("layout", sa.String(8), nullable=False),
        sa.Column("file_count", sa.BigInteger, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("message", sa.Text, nullable=True),
        sa.Column("author", sa.String(256), nullable=True),
        sa.Column("git_commit", sa.String(64), nullable=True),
        sa.Column("source_path", sa.Text, nullable=True),
        sa.Column("created_ms", MS, nullable=False),
        sa.Column("table_format", sa.String(16), nullable=True),
        sa.Column("num_rows", sa.BigInteger, nullable=True),
        sa.Column("table_schema", sa.Text, nullable=True),
        sa.Column("profile", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("name", "version", name="pk_dataset_versions"),
    )
    op.create_index("ix_dataset_versions_manifest_hash", "dataset_versions", ["manifest_hash"])
    op.create_table(
        "run_inputs",
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("context", sa.String(64), nullable=False, server_default="training"),
        sa.Column("created_ms", MS, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "name", "version", name="pk_run_inputs"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.run_id"], name="fk_run_inputs_run_id_runs", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["name", "version"],
            ["dataset_versions.name", "dataset_versions.version"],
            name="fk_run_inputs_name_dataset_versions",
        ),
    )
    op.create_index("ix_run_inputs_name_version", "run_inputs", ["name", "version"])


def downgrade() -> None:
    op.drop_index("ix_run_inputs_name_version", table_name="run_inputs")
    op.drop_table("run_inputs")
    op.drop_index("ix_dataset_versions_manifest_hash", table_name="dataset_versions")
    op.drop_table("dataset_versions")
