"""One-row summaries of a record, for the audit log's before/after: one indexed SELECT each,
so auditing a change costs far less than the change (a full ``get_run`` reads four tables)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from loopml.store.metadata import schema as t
from loopml.store.metadata.engine import retrying


def _one(engine: Engine, query: Any) -> dict[str, Any] | None:
    def read() -> dict[str, Any] | None:
        with engine.connect() as conn:
            row = conn.execute(query).first()
            return None if row is None else {str(k): v for k, v in row._asdict().items()}

    return retrying(read)


def run_summary(engine: Engine, run_id: str) -> dict[str, Any] | None:
    r = t.runs.c
    return _one(
        engine,
        sa.select(r.run_name, r.status, r.lifecycle_stage, r.end_ms).where(r.run_id == run_id),
    )


def experiment_summary(engine: Engine, experiment_id: str) -> dict[str, Any] | None:
    e = t.experiments.c
    return _one(
        engine, sa.select(e.name, e.lifecycle_stage).where(e.experiment_id == experiment_id)
    )
