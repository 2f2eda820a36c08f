"""Pipeline records in the SQL metadata database, sharing the tracking store's engine.

A batch writes pipeline rows and the nested tracking runs of its steps (``runs``, ``params``,
``tags``, ``artifacts``) in one transaction: per-step tracking calls would cost a transaction
each, which is most of what a fully cached re-run would otherwise spend.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from loopml.errors import NotFoundError
from loopml.store.metadata import schema as t
from loopml.store.metadata import schema_pipeline as p
from loopml.store.metadata.engine import Transactions
from loopml.store.metadata.pipeline_base import (
    NestedRun,
    PipelineRunRecord,
    PipelineStore,
    StepBatch,
    StepRecord,
)

__all__ = ["SqlPipelineStore"]

_DONE = ("FINISHED", "CACHED")


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


class SqlPipelineStore(Transactions, PipelineStore):
    """Shares the engine of a :class:`SqlMetadataStore` (already migrated)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        if engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            self._insert: Any = pg_insert
        else:  # importing only the dialect in use: the other costs ~0.1 s on a cold start
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            self._insert = sqlite_insert
        ins = self._insert
        # Built once: constructing an upsert (its ``excluded`` columns) costs more than running it.
        steps = ins(p.pipeline_steps)
        self._steps_upsert = steps.on_conflict_do_update(
            index_elements=["pipeline_run_id", "name"],
            set_={
                c.name: steps.excluded[c.name]
                for c in p.pipeline_steps.columns
                if c.name not in ("pipeline_run_id", "name")
            },
        )
        tags = ins(t.tags)
        self._tags_upsert = tags.on_conflict_do_update(
            index_elements=["run_id", "key"], set_={"value": tags.excluded.value}
        )
        arts = ins(t.artifacts)
        self._artifacts_upsert = arts.on_conflict_do_update(
            index_elements=["run_id", "path"],
            set_={c: arts.excluded[c] for c in ("object_hash", "size", "kind", "created_ms")},
        )
        latest = ins(t.latest_metrics)
        self._latest_upsert = latest.on_conflict_do_update(
            index_elements=["run_id", "key"],
            set_={c: latest.excluded[c] for c in ("value", "step", "timestamp_ms")},
        )
        self._params_insert = ins(t.params).on_conflict_do_nothing(index_elements=["run_id", "key"])
        self._run_update = (
            t.runs.update()
            .where(t.runs.c.run_id == sa.bindparam("b_run_id"))
            .values(status=sa.bindparam("b_status"), end_ms=sa.bindparam("b_end_ms"))
        )
        s_ = p.pipeline_steps
        self._cached_select = (
            sa.select(s_)
            .where(s_.c.cache_key == sa.bindparam("key"), s_.c.status.in_(_DONE))
            .order_by(s_.c.ended_ms.desc())
            .limit(1)
        )

    # -- writes -----------------------------------------------------------------------------
    def start_run(
        self,
        record: PipelineRunRecord,
        steps: Sequence[StepRecord],
        tracking: NestedRun,
    ) -> None:
        def op(conn: Connection) -> None:
            self._nested(conn, [tracking])
            conn.execute(
                p.pipeline_runs.insert().values(
                    run_id=record.run_id,
                    pipeline=record.pipeline,
                    ref=record.ref,
                    status=record.status,
                    params=_json(record.params),
                    executor=record.executor,
                    use_cache=record.use_cache,
                    error=record.error,
                    registered=_json(record.registered),
                    graph=_json(record.graph),
                    started_ms=record.started_ms,
                    ended_ms=record.ended_ms,
                )
            )
            self._upsert_steps(conn, record.run_id, steps)

        self._write(op)

    def reopen_run(self, run_id: str, started_ms: int) -> None:
        def op(conn: Connection) -> None:
            res = conn.execute(
                p.pipeline_runs.update()
                .where(p.pipeline_runs.c.run_id == run_id)
                .values(status="RUNNING", error=None, ended_ms=None)
            )
            if res.rowcount == 0:
                raise NotFoundError(f"no pipeline run {run_id!r}")
            conn.execute(
                t.runs.update()
                .where(t.runs.c.run_id == run_id)
                .values(status="RUNNING", end_ms=None, status_message=None)
            )

        self._write(op)

    def save(self, pipeline_run_id: str, batch: StepBatch) -> None:
        if batch:
            self._write(lambda conn: self._save(conn, pipeline_run_id, batch))

    def finish_run(
        self,
        run_id: str,
        status: str,
        ended_ms: int,
        error: str | None,
        registered: Sequence[str],
        batch: StepBatch,
    ) -> None:
        def op(conn: Connection) -> None:
            self._save(conn, run_id, batch)
            conn.execute(
                p.pipeline_runs.update()
                .where(p.pipeline_runs.c.run_id == run_id)
                .values(
                    status=status,
                    ended_ms=ended_ms,
                    error=error,
                    registered=_json(list(registered)),
                )
            )
            conn.execute(
                t.runs.update()
                .where(t.runs.c.run_id == run_id)
                .values(status=status, end_ms=ended_ms, status_message=error)
            )

        self._write(op)

    def _save(self, conn: Connection, pipeline_run_id: str, batch: StepBatch) -> None:
        self._nested(conn, batch.runs)
        self._upsert_steps(conn, pipeline_run_id, batch.steps)
        if batch.stale_nodes:
            e = p.pipeline_edges
            stale = batch.stale_nodes
            conn.execute(
                e.delete().where(
                    e.c.pipeline_run_id == pipeline_run_id,
                    sa.or_(e.c.src.in_(stale), e.c.dst.in_(stale)),
                )
            )
        if batch.edges:
            conn.execute(
                p.pipeline_edges.insert(),
                [{"pipeline_run_id": pipeline_run_id, "src": s, "dst": d} for s, d in batch.edges],
            )

    def _upsert_steps(self, conn: Connection, run_id: str, steps: Sequence[StepRecord]) -> None:
        if not steps:
            return
        steps = list({s.name: s for s in steps}.values())  # a step saved twice: its last state
        rows = [
            {
                "pipeline_run_id": run_id,
                "name": s.name,
                "step": s.step,
                "position": s.position,
                "status": s.status,
                "cache_hit": s.cache_hit,
                "cache_key": s.cache_key,
                "components": _json(s.components) if s.components is not None else None,
                "run_id": s.run_id,
                "outputs": _json(s.outputs),
                "upstream": _json(s.upstream),
                "error": s.error,
                "attempts": s.attempts,
                "started_ms": s.started_ms,
                "ended_ms": s.ended_ms,
                "duration_ms": s.duration_ms,
            }
            for s in steps
        ]
        conn.execute(self._steps_upsert, rows)
        names = [s.name for s in steps]
        o = p.pipeline_outputs
        conn.execute(o.delete().where(o.c.pipeline_run_id == run_id, o.c.name.in_(names)))
        outputs = [
            {
                "pipeline_run_id": run_id,
                "name": s.name,
                "position": i,
                "object_hash": out["hash"],
                "kind": out["kind"],
                "materializer": out["materializer"],
            }
            for s in steps
            for i, out in enumerate(s.outputs)
        ]
        if outputs:
            conn.execute(o.insert(), outputs)

    def _nested(self, conn: Connection, runs: Sequence[NestedRun]) -> None:
        """Every nested run of a batch with one statement per table (executemany)."""
        if not runs:
            return
        new = [r for r in runs if r.create]
        if new:
            conn.execute(
                t.runs.insert(),
                [
                    {
                        "run_id": r.run_id,
                        "experiment_id": r.experiment_id,
                        "run_name": r.run_name,
                        "status": r.status,
                        "user": r.user,
                        "start_ms": r.start_ms,
                        "end_ms": r.end_ms,
                        "parent_run_id": r.parent_run_id,
                        "lifecycle_stage": "active",
                    }
                    for r in new
                ],
            )
        old = [r for r in runs if not r.create]
        if old:
            conn.execute(
                self._run_update,
                [{"b_run_id": r.run_id, "b_status": r.status, "b_end_ms": r.end_ms} for r in old],
            )
        params = [
            {"run_id": r.run_id, "key": k, "value": v} for r in runs for k, v in r.params.items()
        ]
        if params:
            conn.execute(self._params_insert, params)
        tags = [{"run_id": r.run_id, "key": k, "value": v} for r in runs for k, v in r.tags.items()]
        if tags:
            conn.execute(self._tags_upsert, tags)
        artifacts = [
            {
                "run_id": r.run_id,
                "path": path,
                "object_hash": digest,
                "size": size,
                "kind": kind,
                "created_ms": r.end_ms or r.start_ms,
            }
            for r in runs
            for path, digest, size, kind in r.artifacts
        ]
        if artifacts:
            conn.execute(self._artifacts_upsert, artifacts)
        points = [
            {
                "run_id": r.run_id,
                "key": k,
                "value": v,
                "step": 0,
                "timestamp_ms": r.end_ms or r.start_ms,
            }
            for r in runs
            for k, v in r.metrics.items()
        ]
        if points:
            conn.execute(t.metrics.insert(), points)
            conn.execute(self._latest_upsert, points)

    def _params(self, conn: Connection, run_id: str, params: dict[str, str]) -> None:
        if params:
            conn.execute(
                self._params_insert,
                [{"run_id": run_id, "key": k, "value": v} for k, v in params.items()],
            )

    # -- reads ------------------------------------------------------------------------------
    def get_run(self, run_id: str) -> tuple[PipelineRunRecord, list[StepRecord]]:
        def op(conn: Connection) -> tuple[PipelineRunRecord, list[StepRecord]]:
            row = conn.execute(
                sa.select(p.pipeline_runs).where(p.pipeline_runs.c.run_id == run_id)
            ).first()
            if row is None:
                raise NotFoundError(
                    f"no pipeline run {run_id!r}; see `loopml pipeline runs`", run_id=run_id
                )
            steps = conn.execute(
                sa.select(p.pipeline_steps)
                .where(p.pipeline_steps.c.pipeline_run_id == run_id)
                .order_by(p.pipeline_steps.c.position)
            ).all()
            return _run(row), [_step(s) for s in steps]

        return self._read(op)

    def list_runs(self, pipeline: str | None = None, limit: int = 50) -> list[PipelineRunRecord]:
        q = sa.select(p.pipeline_runs).order_by(p.pipeline_runs.c.started_ms.desc()).limit(limit)
        if pipeline is not None:
            q = q.where(p.pipeline_runs.c.pipeline == pipeline)
        return self._read(lambda conn: [_run(r) for r in conn.execute(q).all()])

    def find_cached(self, cache_key: str) -> StepRecord | None:
        def op(conn: Connection) -> StepRecord | None:
            row = conn.execute(self._cached_select, {"key": cache_key}).first()
            return None if row is None else _step(row)

        return self._read(op)

    def cache_candidates(self, pipeline: str, runs: int = 3) -> dict[str, StepRecord]:
        s, r = p.pipeline_steps, p.pipeline_runs
        recent = (
            sa.select(r.c.run_id)
            .where(r.c.pipeline == pipeline)
            .order_by(r.c.started_ms.desc())
            .limit(runs)
            .scalar_subquery()
        )
        q = (
            sa.select(s)
            .where(
                s.c.pipeline_run_id.in_(recent),
                s.c.status.in_(_DONE),
                s.c.cache_key.is_not(None),
            )
            .order_by(s.c.ended_ms)
        )

        def op(conn: Connection) -> dict[str, StepRecord]:
            return {row.cache_key: _step(row) for row in conn.execute(q)}

        return self._read(op)

    def previous_step(
        self, pipeline: str, name: str, before_ms: int, exclude_run: str
    ) -> StepRecord | None:
        s, r = p.pipeline_steps, p.pipeline_runs
        q = (
            sa.select(s)
            .join(r, r.c.run_id == s.c.pipeline_run_id)
            .where(
                r.c.pipeline == pipeline,
                s.c.name == name,
                s.c.cache_key.is_not(None),
                r.c.started_ms <= before_ms,
                r.c.run_id != exclude_run,
            )
            .order_by(r.c.started_ms.desc())
            .limit(1)
        )

        def op(conn: Connection) -> StepRecord | None:
            row = conn.execute(q).first()
            return None if row is None else _step(row)

        return self._read(op)

    def edges(self, pipeline_run_id: str) -> list[tuple[str, str]]:
        e = p.pipeline_edges
        q = sa.select(e.c.src, e.c.dst).where(e.c.pipeline_run_id == pipeline_run_id)
        return self._read(lambda conn: [(r.src, r.dst) for r in conn.execute(q.order_by(e.c.id))])

    def step_of_run(self, run_id: str) -> tuple[str, str] | None:
        st = p.pipeline_steps
        q = sa.select(st.c.pipeline_run_id, st.c.name).where(st.c.run_id == run_id).limit(1)
        row = self._read(lambda conn: conn.execute(q).first())
        return None if row is None else (str(row[0]), str(row[1]))

    def edges_into(self, node: str) -> list[tuple[str, str, str]]:
        e = p.pipeline_edges
        q = sa.select(e.c.pipeline_run_id, e.c.src, e.c.dst).where(e.c.dst == node)
        return self._read(
            lambda conn: [
                (r.pipeline_run_id, r.src, r.dst) for r in conn.execute(q.order_by(e.c.id))
            ]
        )


def _run(row: Any) -> PipelineRunRecord:
    return PipelineRunRecord(
        run_id=row.run_id,
        pipeline=row.pipeline,
        status=row.status,
        params=orjson.loads(row.params),
        executor=row.executor,
        use_cache=bool(row.use_cache),
        started_ms=row.started_ms,
        graph=orjson.loads(row.graph),
        ref=row.ref,
        error=row.error,
        registered=orjson.loads(row.registered),
        ended_ms=row.ended_ms,
    )


def _step(row: Any) -> StepRecord:
    return StepRecord(
        name=row.name,
        step=row.step,
        position=row.position,
        status=row.status,
        upstream=orjson.loads(row.upstream),
        cache_hit=bool(row.cache_hit),
        cache_key=row.cache_key,
        components=orjson.loads(row.components) if row.components else None,
        run_id=row.run_id,
        outputs=orjson.loads(row.outputs),
        error=row.error,
        attempts=row.attempts,
        started_ms=row.started_ms,
        ended_ms=row.ended_ms,
        duration_ms=row.duration_ms,
        pipeline_run_id=row.pipeline_run_id,
    )
