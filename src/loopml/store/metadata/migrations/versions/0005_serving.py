"""Serving: deployments, their configuration versions and live counters.

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0001"
branch_labels = ("serving",)
depends_on = None

MS = sa.BigInteger()


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("current_version", sa.Integer, nullable=False),
        sa.Column("created_ms", MS, nullable=False),
        sa.Column("updated_ms", MS, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_deployments"),
    )
    op.create_table(
        "deployment_versions",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("config", sa.Text, nullable=False),
        sa.Column("message", sa.Text, nullable=True),
        sa.Column("user", sa.String(256), nullable=True),
        sa.Column("created_ms", MS, nullable=False),
        sa.PrimaryKeyConstraint("name", "version", name="pk_deployment_versions"),
        sa.ForeignKeyConstraint(
            ["name"],
            ["deployments.name"],
            ondelete="CASCADE",
            name="fk_deployment_versions_name_deployments",
        ),
    )
    op.create_table(
        "deployment_counters",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("route", sa.String(255), nullable=False),
        sa.Column("model_uri", sa.Text, nullable=False),
        sa.Column("requests", sa.BigInteger, nullable=False),
        sa.Column("errors", sa.BigInteger, nullable=False),
        sa.Column("latency_ms_sum", sa.Float, nullable=False),
        sa.Column("updated_ms", MS, nullable=False),
        sa.PrimaryKeyConstraint("name", "route", name="pk_deployment_counters"),
        sa.ForeignKeyConstraint(
            ["name"],
            ["deployments.name"],
            ondelete="CASCADE",
            name="fk_deployment_counters_name_deployments",
        ),
    )


def downgrade() -> None:
    op.drop_table("deployment_counters")
    op.drop_table("deployment_versions")
    op.drop_table("deployments")
