"""SQL tables of pipeline runs, their steps, step outputs and lineage edges.

A pipeline run's id is the id of its tracking run. Step outputs are one row per stored object,
so ``loopml gc`` keeps every object a recorded step produced (``OBJECT_REFERENCES``); a step's
cache entry is simply its finished row, found by ``cache_key``. Lineage edges join typed node
ids (``data:/n/3``, ``step:<run>/<node>``, ``obj:<hash>``, ``models:/m/4``) within a run.
"""

from __future__ import annotations

import sqlalchemy as sa

from loopml.store.metadata.schema import OBJECT_REFERENCES, metadata

_ID = sa.String(32)
_MS = sa.BigInteger()
_AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

pipeline_runs = sa.Table(
    "pipeline_runs",
    metadata,
    sa.Column("run_id", _ID, primary_key=True),
    sa.Column("pipeline", sa.String(255), nullable=False),
    sa.Column("ref", sa.Text, nullable=True),  # "path/file.py:name", to load it again
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("params", sa.Text, nullable=False),  # JSON
    sa.Column("executor", sa.String(64), nullable=False),
    sa.Column("use_cache", sa.Boolean, nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("registered", sa.Text, nullable=False),  # JSON list of model version URIs
    sa.Column("graph", sa.Text, nullable=False),  # JSON: the DAG as built
    sa.Column("started_ms", _MS, nullable=False),
    sa.Column("ended_ms", _MS, nullable=True),
    sa.Index("ix_pipeline_runs_pipeline_started", "pipeline", "started_ms"),
    sa.Index("ix_pipeline_runs_started_ms", "started_ms"),
)

pipeline_steps = sa.Table(
    "pipeline_steps",
    metadata,
    sa.Column(
        "pipeline_run_id",
        _ID,
        sa.ForeignKey("pipeline_runs.run_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("step", sa.String(255), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("cache_hit", sa.Boolean, nullable=False),
    sa.Column("cache_key", sa.String(64), nullable=True),
    sa.Column("components", sa.Text, nullable=True),  # JSON: the cache key's parts
    sa.Column("run_id", _ID, nullable=True),  # the nested tracking run
    sa.Column("outputs", sa.Text, nullable=False),  # JSON list of output records
    sa.Column("upstream", sa.Text, nullable=False),  # JSON list of node names
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("started_ms", _MS, nullable=True),
    sa.Column("ended_ms", _MS, nullable=True),
    sa.Column("duration_ms", sa.Float, nullable=True),
    sa.Index("ix_pipeline_steps_cache_key", "cache_key"),
)

pipeline_outputs = sa.Table(
    "pipeline_outputs",
    metadata,
    sa.Column(
        "pipeline_run_id",
        _ID,
        sa.ForeignKey("pipeline_runs.run_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("object_hash", sa.String(64), nullable=False, index=True),
    sa.Column("kind", sa.String(8), nullable=False),  # "file" or "dir" (a manifest)
    sa.Column("materializer", sa.String(64), nullable=False),
)

pipeline_edges = sa.Table(
    "pipeline_edges",
    metadata,
    sa.Column("id", _AUTO_ID, primary_key=True, autoincrement=True),
    sa.Column(
        "pipeline_run_id",
        _ID,
        sa.ForeignKey("pipeline_runs.run_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("src", sa.String(512), nullable=False),
    sa.Column("dst", sa.String(512), nullable=False, index=True),
)

OBJECT_REFERENCES.append((pipeline_outputs, "object_hash", "kind"))
