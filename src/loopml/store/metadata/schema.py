"""SQL tables of the metadata store (SQLAlchemy Core).

Alembic migrations in ``migrations/`` create exactly these; ``tests/unit/store`` checks that the
two never drift. Time is integer milliseconds (UTC). A NaN metric is stored as NULL (SQLite has
no NaN), so NULL in ``value`` always means NaN, never "missing".
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

_ID = sa.String(32)
_MS = sa.BigInteger()
_AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

experiments = sa.Table(
    "experiments",
    metadata,
    sa.Column("experiment_id", _ID, primary_key=True),
    sa.Column("name", sa.String(256), nullable=False, unique=True),
    sa.Column("lifecycle_stage", sa.String(16), nullable=False, server_default="active"),
    sa.Column("created_ms", _MS, nullable=False),
    sa.Column("updated_ms", _MS, nullable=False),
    sa.Column("deleted_ms", _MS, nullable=True),
)

experiment_tags = sa.Table(
    "experiment_tags",
    metadata,
    sa.Column(
        "experiment_id",
        _ID,
        sa.ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", _ID, primary_key=True),
    sa.Column(
        "experiment_id", _ID, sa.ForeignKey("experiments.experiment_id"), nullable=False, index=True
    ),
    sa.Column("run_name", sa.String(250), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("status_message", sa.Text, nullable=True),
    sa.Column("user", sa.String(256), nullable=True),
    sa.Column("start_ms", _MS, nullable=False),
    sa.Column("end_ms", _MS, nullable=True),
    sa.Column("parent_run_id", _ID, nullable=True, index=True),
    sa.Column("lifecycle_stage", sa.String(16), nullable=False, server_default="active"),
    sa.Column("deleted_ms", _MS, nullable=True),
    sa.Index("ix_runs_experiment_start", "experiment_id", "start_ms"),
)

params = sa.Table(
    "params",
    metadata,
    sa.Column("run_id", _ID, sa.ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Index("ix_params_key_value", "key", "value"),
)

tags = sa.Table(
    "tags",
    metadata,
    sa.Column("run_id", _ID, sa.ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Index("ix_tags_key_value", "key", "value"),
)

# Every point ever logged; read for history and plots, never scanned by search.
metrics = sa.Table(
    "metrics",
    metadata,
    sa.Column("id", _AUTO_ID, primary_key=True, autoincrement=True),
    sa.Column("run_id", _ID, sa.ForeignKey("runs.run_id", ondelete="CASCADE"), nullable=False),
    sa.Column("key", sa.String(250), nullable=False),
    sa.Column("value", sa.Float(precision=53), nullable=True),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("timestamp_ms", _MS, nullable=False),
    sa.Index("ix_metrics_run_key_step", "run_id", "key", "step"),
)

# The latest point per (run, key): what search filters and sorts on, through an index.
latest_metrics = sa.Table(
    "latest_metrics",
    metadata,
    sa.Column("run_id", _ID, sa.ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Float(precision=53), nullable=True),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("timestamp_ms", _MS, nullable=False),
    sa.Index("ix_latest_metrics_key_value", "key", "value"),
)

artifacts = sa.Table(
    "artifacts",
    metadata,
    sa.Column("run_id", _ID, sa.ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True),
    sa.Column("path", sa.String(1024), primary_key=True),
    sa.Column("object_hash", sa.String(64), nullable=False, index=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),  # "file" or "dir" (a manifest object)
    sa.Column("created_ms", _MS, nullable=False),
)

# Tables whose ``object_hash`` column pins objects against garbage collection. Later packages
# (datasets, model versions, step outputs) append theirs so ``loopml gc`` sees every reference.
OBJECT_REFERENCES: list[tuple[sa.Table, str, str | None]] = [(artifacts, "object_hash", "kind")]
from loopml.store.metadata import schema_ct as _schema_ct  # noqa: E402,F401
from loopml.store.metadata import schema_data as _schema_data  # noqa: E402,F401
from loopml.store.metadata import schema_monitoring as _schema_monitoring  # noqa: E402,F401
from loopml.store.metadata import schema_pipeline as _schema_pipeline  # noqa: E402,F401
from loopml.store.metadata import schema_registry as _schema_registry  # noqa: E402,F401
from loopml.store.metadata import schema_server as _schema_server  # noqa: E402,F401
from loopml.store.metadata import schema_serving as _schema_serving  # noqa: E402,F401
