"""SQL tables of the model registry, on the shared ``metadata`` of ``schema.py``.

Migration ``0003_registry`` creates exactly these. A model's ``last_version`` is the counter
that numbers its versions: registering increments it inside the same write transaction that
inserts the version, so concurrent registrations get distinct consecutive numbers on SQLite
(``BEGIN IMMEDIATE`` serialises writers) and PostgreSQL (the ``UPDATE`` locks the model's row).
"""

from __future__ import annotations

import sqlalchemy as sa

from loopml.store.metadata.schema import OBJECT_REFERENCES, metadata

_MS = sa.BigInteger()
_NAME = sa.String(256)
_ALIAS = sa.String(256)
_USER = sa.String(256)
_AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_FK_MODEL = "registered_models.name"

registered_models = sa.Table(
    "registered_models",
    metadata,
    sa.Column("name", _NAME, primary_key=True),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("owner", _USER, nullable=True),
    sa.Column("last_version", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_ms", _MS, nullable=False),
    sa.Column("updated_ms", _MS, nullable=False),
)

registered_model_tags = sa.Table(
    "registered_model_tags",
    metadata,
    sa.Column("name", _NAME, sa.ForeignKey(_FK_MODEL, ondelete="CASCADE"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Index("ix_registered_model_tags_key_value", "key", "value"),
)

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("name", _NAME, sa.ForeignKey(_FK_MODEL, ondelete="CASCADE"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("source_uri", sa.String(1100), nullable=False),
    sa.Column("run_id", sa.String(32), nullable=True, index=True),
    sa.Column("package_hash", sa.String(64), nullable=False, index=True),
    # Always "dir": a package is a manifest, so gc keeps the files it lists (OBJECT_REFERENCES).
    sa.Column("package_kind", sa.String(8), nullable=False, server_default="dir"),
    sa.Column("flavor", sa.String(64), nullable=True),
    sa.Column("signature", sa.Text, nullable=True),  # JSON
    sa.Column("metrics", sa.Text, nullable=True),  # JSON snapshot of the run's latest metrics
    sa.Column("params", sa.Text, nullable=True),  # JSON snapshot of the run's params
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("user", _USER, nullable=True),
    sa.Column("created_ms", _MS, nullable=False),
    sa.Column("updated_ms", _MS, nullable=False),
)


def _version_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["name", "version"], ["model_versions.name", "model_versions.version"], ondelete="CASCADE"
    )


model_version_tags = sa.Table(
    "model_version_tags",
    metadata,
    sa.Column("name", _NAME, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    _version_fk(),
)

# The dataset versions the source run read (filled from the run's inputs when registering).
model_version_datasets = sa.Table(
    "model_version_datasets",
    metadata,
    sa.Column("name", _NAME, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("uri", sa.String(1024), primary_key=True),
    sa.Column("digest", sa.String(64), nullable=True, index=True),
    sa.Column("context", sa.String(64), nullable=True),
    _version_fk(),
)

model_aliases = sa.Table(
    "model_aliases",
    metadata,
    sa.Column("name", _NAME, sa.ForeignKey(_FK_MODEL, ondelete="CASCADE"), primary_key=True),
    sa.Column("alias", _ALIAS, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_ms", _MS, nullable=False),
)

# One row per protected alias; ``approvers`` is a JSON list of user names (empty: any approver).
alias_policies = sa.Table(
    "alias_policies",
    metadata,
    sa.Column("name", _NAME, sa.ForeignKey(_FK_MODEL, ondelete="CASCADE"), primary_key=True),
    sa.Column("alias", _ALIAS, primary_key=True),
    sa.Column("approvers", sa.Text, nullable=False),
    sa.Column("created_ms", _MS, nullable=False),
    sa.Column("created_by", _USER, nullable=True),
)

promotion_requests = sa.Table(
    "promotion_requests",
    metadata,
    sa.Column("request_id", sa.String(32), primary_key=True),
    sa.Column("name", _NAME, sa.ForeignKey(_FK_MODEL, ondelete="CASCADE"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("alias", _ALIAS, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("requested_by", _USER, nullable=True),
    sa.Column("requested_ms", _MS, nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("decided_by", _USER, nullable=True),
    sa.Column("decided_ms", _MS, nullable=True),
    sa.Column("decision_reason", sa.Text, nullable=True),
    sa.Index("ix_promotion_requests_name_status", "name", "status"),
)

# The registry's own history (kept when a model is deleted: it is the record that it was).
registry_events = sa.Table(
    "registry_events",
    metadata,
    sa.Column("event_id", _AUTO_ID, primary_key=True, autoincrement=True),
    sa.Column("ts_ms", _MS, nullable=False),
    sa.Column("actor", _USER, nullable=True),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("name", _NAME, nullable=False),
    sa.Column("version", sa.Integer, nullable=True),
    sa.Column("alias", _ALIAS, nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("detail", sa.Text, nullable=True),  # JSON
    sa.Index("ix_registry_events_name_ts", "name", "ts_ms"),
)

OBJECT_REFERENCES.append((model_versions, "package_hash", "package_kind"))
