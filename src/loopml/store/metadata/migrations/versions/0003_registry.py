"""Registry: registered models, versions, aliases, tags, datasets, policies, requests, events.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = ("registry",)
depends_on = None

MS = sa.BigInteger()
NAME = sa.String(256)
USER = sa.String(256)
AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _model_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["name"],
        ["registered_models.name"],
        name=f"fk_{table}_name_registered_models",
        ondelete="CASCADE",
    )


def _version_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["name", "version"],
        ["model_versions.name", "model_versions.version"],
        name=f"fk_{table}_name_model_versions",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "registered_models",
        sa.Column("name", NAME, nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("owner", USER, nullable=True),
        sa.Column("last_version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_ms", MS, nullable=False),
        sa.Column("updated_ms", MS, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_registered_models"),
    )
    op.create_table(
        "registered_model_tags",
        sa.Column("name", NAME, nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("name", "key", name="pk_registered_model_tags"),
        _model_fk("registered_model_tags"),
    )
    op.create_index("ix_registered_model_tags_key_value", "registered_model_tags", ["key", "value"])
    op.create_table(
        "model_versions",
        sa.Column("name", NAME, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source_uri", sa.String(1100), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=True),
        sa.Column("package_hash", sa.String(64), nullable=False),
        sa.Column("package_kind", sa.String(8), nullable=False, server_default="dir"),
        sa.Column("flavor", sa.String(64), nullable=True),
        sa.Column("signature", sa.Text, nullable=True),
        sa.Column("metrics", sa.Text, nullable=True),
        sa.Column("params", sa.Text, nullable=True),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("user", USER, nullable=True),
        sa.Column("created_ms", MS, nullable=False),
        sa.Column("updated_ms", MS, nullable=False),
        sa.PrimaryKeyConstraint("name", "version", name="pk_model_versions"),
        _model_fk("model_versions"),
    )
    op.create_index("ix_model_versions_run_id", "model_versions", ["run_id"])
    op.create_index("ix_model_versions_package_hash", "model_versions", ["package_hash"])
    op.create_table(
        "model_version_tags",
        sa.Column("name", NAME, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("name", "version", "key", name="pk_model_version_tags"),
        _version_fk("model_version_tags"),
    )
    op.create_table(
        "model_version_datasets",
        sa.Column("name", NAME, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("uri", sa.String(1024), nullable=False),
        sa.Column("digest", sa.String(64), nullable=True),
        sa.Column("context", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("name", "version", "uri", name="pk_model_version_datasets"),
        _version_fk("model_version_datasets"),
    )
    op.create_index("ix_model_version_datasets_digest", "model_version_datasets", ["digest"])
    op.create_table(
        "model_aliases",
        sa.Column("name", NAME, nullable=False),
        sa.Column("alias", sa.String(256), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_ms", MS, nullable=False),
        sa.PrimaryKeyConstraint("name", "alias", name="pk_model_aliases"),
        _model_fk("model_aliases"),
    )
    op.create_table(
        "alias_policies",
        sa.Column("name", NAME, nullable=False),
        sa.Column("alias", sa.String(256), nullable=False),
        sa.Column("approvers", sa.Text, nullable=False),
        sa.Column("created_ms", MS, nullable=False),
        sa.Column("created_by", USER, nullable=True),
        sa.PrimaryKeyConstraint("name", "alias", name="pk_alias_policies"),
        _model_fk("alias_policies"),
    )
    op.create_table(
        "promotion_requests",
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("alias", sa.String(256), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_by", USER, nullable=True),
        sa.Column("requested_ms", MS, nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("decided_by", USER, nullable=True),
        sa.Column("decided_ms", MS, nullable=True),
        sa.Column("decision_reason", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("request_id", name="pk_promotion_requests"),
        _model_fk("promotion_requests"),
    )
    op.create_index("ix_promotion_requests_name_status", "promotion_requests", ["name", "status"])
    op.create_table(
        "registry_events",
        sa.Column("event_id", AUTO_ID, autoincrement=True),
        sa.Column("ts_ms", MS, nullable=False),
        sa.Column("actor", USER, nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("version", sa.Integer, nullable=True),
        sa.Column("alias", sa.String(256), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("detail", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("event_id", name="pk_registry_events"),
    )
    op.create_index("ix_registry_events_name_ts", "registry_events", ["name", "ts_ms"])


def downgrade() -> None:
    for table in (
        "registry_events",
        "promotion_requests",
        "alias_policies",
        "model_aliases",
        "model_version_datasets",
        "model_version_tags",
        "model_versions",
        "registered_model_tags",
        "registered_models",
    ):
        op.drop_table(table)
