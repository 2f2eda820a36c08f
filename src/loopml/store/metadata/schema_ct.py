"""SQL tables of the continuous-training controller (attached to ``schema.metadata``).

``ct_events`` holds one row per trigger event with a unique (policy, key): the same cron tick,
dataset version or alert seen twice is one event, so it can never start two runs. ``ct_runs``
holds the state machine of each triggered run; a partial unique index allows one unfinished
run per policy. ``ct_decisions`` is the decision log, ``ct_leases`` keeps two controllers from
acting at once, and ``ct_watermarks`` remembers what each trigger has already seen.
"""

from __future__ import annotations

import sqlalchemy as sa

from loopml.store.metadata.schema import metadata

_MS = sa.BigInteger()
_AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

ct_events = sa.Table(
    "ct_events",
    metadata,
    sa.Column("id", _AUTO_ID, primary_key=True, autoincrement=True),
    sa.Column("policy", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),  # cron, new_data, alert, manual
    sa.Column("key", sa.String(512), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),  # JSON
    sa.Column("status", sa.String(16), nullable=False),  # pending, consumed, coalesced
    sa.Column("run_id", sa.String(32), nullable=True),
    sa.Column("created_ms", _MS, nullable=False),
    sa.UniqueConstraint("policy", "key", name="uq_ct_events_policy_key"),
    sa.Index("ix_ct_events_policy_status", "policy", "status"),
)

ct_runs = sa.Table(
    "ct_runs",
    metadata,
    sa.Column("run_id", sa.String(32), primary_key=True),
    sa.Column("policy", sa.String(255), nullable=False),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("data", sa.Text, nullable=False),  # JSON: what each state needs after a restart
    sa.Column("pipeline_run_id", sa.String(64), nullable=True),
    sa.Column("candidate", sa.Text, nullable=True),  # models:/<name>/<version>
    sa.Column("champion", sa.Text, nullable=True),
    sa.Column("outcome", sa.Text, nullable=True),  # the final "why", in words
    sa.Column("created_ms", _MS, nullable=False),
    sa.Column("updated_ms", _MS, nullable=False),
    sa.Column("finished_ms", _MS, nullable=True),
    sa.Index("ix_ct_runs_policy_created", "policy", "created_ms"),
    # Partial (WHERE finished_ms IS NULL) in the migration, which is what creates it: naming the
    # dialect options here would import the PostgreSQL dialect (~0.15 s) into every CLI command.
    sa.Index("ux_ct_runs_one_active", "policy", unique=True),
)

ct_decisions = sa.Table(
    "ct_decisions",
    metadata,
    sa.Column("id", _AUTO_ID, primary_key=True, autoincrement=True),
    sa.Column("policy", sa.String(255), nullable=False),
    sa.Column("run_id", sa.String(32), nullable=True),
    sa.Column("ts_ms", _MS, nullable=False),
    sa.Column("step", sa.String(32), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("numbers", sa.Text, nullable=False),  # JSON
    sa.Index("ix_ct_decisions_policy_ts", "policy", "ts_ms"),
)

ct_leases = sa.Table(
    "ct_leases",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("holder", sa.String(255), nullable=False),
    sa.Column("expires_ms", _MS, nullable=False),
    sa.Column("acquired_ms", _MS, nullable=False),
)

ct_watermarks = sa.Table(
    "ct_watermarks",
    metadata,
    sa.Column("policy", sa.String(255), primary_key=True),
    sa.Column("trigger", sa.String(512), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_ms", _MS, nullable=False),
)
