"""The metadata store on SQL: SQLite (embedded default) or PostgreSQL.

Writes are short transactions through :func:`write_transaction` and :func:`retrying`, so many
processes can log into one SQLite file. Metric points go in with one ``executemany`` per flush,
and the latest value per key is kept in ``latest_metrics`` by an upsert so that search reads an
index instead of scanning history.
"""

from __future__ import annotations

import base64
import math
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from loopml.errors import (
    AlreadyExistsError,
    InvalidParameterError,
    InvalidStateError,
    NotFoundError,
)
from loopml.store.metadata import schema as t
from loopml.store.metadata.base import MetadataStore, MetricPoint
from loopml.store.metadata.engine import Transactions, create_engine
from loopml.store.metadata.entities import (
    ArtifactRecord,
    Experiment,
    LifecycleStage,
    Metric,
    Run,
    RunList,
    RunStatus,
)
from loopml.store.metadata.migrate import ensure_current
from loopml.store.metadata.names import random_run_name
from loopml.store.metadata.validation import check_key, check_name

ACTIVE = LifecycleStage.ACTIVE.value
DELETED = LifecycleStage.DELETED.value


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _new_id() -> str:
    return uuid.uuid4().hex


def _float_or_nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


class SqlMetadataStore(Transactions, MetadataStore):
    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        self.engine: Engine = create_engine(url)
        self._insert_metric_sql = (
            "INSERT INTO metrics (run_id, key, value, step, timestamp_ms) VALUES "
            + (
                "(?, ?, ?, ?, ?)"
                if self.engine.dialect.paramstyle == "qmark"
                else "(%s, %s, %s, %s, %s)"
            )
        )
        upsert = self._upsert()(t.latest_metrics)
        # compiled once and run as executemany: the latest value per (run, key) moves forward only
        self._latest_upsert = upsert.on_conflict_do_update(
            index_elements=["run_id", "key"],
            set_={
                "value": upsert.excluded.value,
                "step": upsert.excluded.step,
                "timestamp_ms": upsert.excluded.timestamp_ms,
            },
            where=sa.tuple_(upsert.excluded.step, upsert.excluded.timestamp_ms)
            >= sa.tuple_(t.latest_metrics.c.step, t.latest_metrics.c.timestamp_ms),
        )
        if migrate:
            ensure_current(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    # -- helpers ----------------------------------------------------------------------------

    def _upsert(self) -> Any:
        from sqlalchemy.dialects import postgresql, sqlite

        return postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert

    # -- experiments ------------------------------------------------------------------------
    @staticmethod
    def _experiment(conn: Connection, row: Any) -> Experiment:
        tag_rows = conn.execute(
            sa.select(t.experiment_tags.c.key, t.experiment_tags.c.value).where(
                t.experiment_tags.c.experiment_id == row.experiment_id
            )
        )
        return Experiment(
            experiment_id=row.experiment_id,
            name=row.name,
            lifecycle_stage=LifecycleStage(row.lifecycle_stage),
            created_ms=row.created_ms,
            updated_ms=row.updated_ms,
            tags=dict(tag_rows.all()),
        )

    def create_experiment(self, name: str, tags: Mapping[str, str] | None = None) -> Experiment:
        check_name(name, "an experiment name")

        def op(conn: Connection) -> str:
            if conn.execute(
                sa.select(t.experiments.c.experiment_id).where(t.experiments.c.name == name)
            ).first():
                raise AlreadyExistsError(f"experiment {name!r} already exists", name=name)
            experiment_id = _new_id()
            ts = now_ms()
            conn.execute(
                t.experiments.insert().values(
                    experiment_id=experiment_id,
                    name=name,
                    lifecycle_stage=ACTIVE,
                    created_ms=ts,
                    updated_ms=ts,
                )
            )
            if tags:
                conn.execute(
                    t.experiment_tags.insert(),
                    [
                        {
                            "experiment_id": experiment_id,
                            "key": check_key(k, "tag key"),
                            "value": str(v),
                        }
                        for k, v in tags.items()
                    ],
                )
            return experiment_id

        try:
            experiment_id = self._write(op)
        except sa.exc.IntegrityError as exc:  # a concurrent creator won the race
            raise AlreadyExistsError(f"experiment {name!r} already exists", name=name) from exc
        return self.get_experiment(experiment_id)

    def _get_experiment_where(self, clause: Any, what: str) -> Experiment:
        def op(conn: Connection) -> Experiment:
            row = conn.execute(sa.select(t.experiments).where(clause)).first()
            if row is None:
                raise NotFoundError(f"no experiment {what}; see `loopml experiments list`")
            return self._experiment(conn, row)

        return self._read(op)

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self._get_experiment_where(
            t.experiments.c.experiment_id == experiment_id, f"with id {experiment_id!r}"
        )

    def get_experiment_by_name(self, name: str) -> Experiment:
        return self._get_experiment_where(t.experiments.c.name == name, f"named {name!r}")

    def list_experiments(self, include_deleted: bool = False) -> list[Experiment]:
        def op(conn: Connection) -> list[Experiment]:
            q = sa.select(t.experiments).order_by(t.experiments.c.created_ms, t.experiments.c.name)
            if not include_deleted:
                q = q.where(t.experiments.c.lifecycle_stage == ACTIVE)
            return [self._experiment(conn, row) for row in conn.execute(q)]

        return self._read(op)

    def _update_experiment(self, experiment_id: str, **values: Any) -> None:
        def op(conn: Connection) -> None:
            res = conn.execute(
                t.experiments.update()
                .where(t.experiments.c.experiment_id == experiment_id)
                .values(updated_ms=now_ms(), **values)
            )
            if res.rowcount == 0:
                raise NotFoundError(f"no experiment with id {experiment_id!r}")

        self._write(op)

    def rename_experiment(self, experiment_id: str, new_name: str) -> Experiment:
        check_name(new_name, "an experiment name")
        try:
            self._update_experiment(experiment_id, name=new_name)
        except sa.exc.IntegrityError as exc:
            raise AlreadyExistsError(
                f"experiment {new_name!r} already exists", name=new_name
            ) from exc
        return self.get_experiment(experiment_id)

    def delete_experiment(self, experiment_id: str) -> None:
        self._update_experiment(experiment_id, lifecycle_stage=DELETED, deleted_ms=now_ms())

    def restore_experiment(self, experiment_id: str) -> None:
        self._update_experiment(experiment_id, lifecycle_stage=ACTIVE, deleted_ms=None)

    # -- runs -------------------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        *,
        run_name: str | None = None,
        start_ms: int | None = None,
        parent_run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        user: str | None = None,
    ) -> Run:
        name = check_name(run_name, "a run name") if run_name is not None else random_run_name()
        run_id = _new_id()
        start = now_ms() if start_ms is None else int(start_ms)
        tag_map = {check_key(k, "tag key"): str(v) for k, v in (tags or {}).items()}

        def op(conn: Connection) -> None:
            exp = conn.execute(
                sa.select(t.experiments.c.lifecycle_stage).where(
                    t.experiments.c.experiment_id == experiment_id
                )
            ).first()
            if exp is None:
                raise NotFoundError(f"no experiment with id {experiment_id!r}")
            if exp.lifecycle_stage != ACTIVE:
                raise InvalidStateError(
                    f"experiment {experiment_id!r} is deleted; restore it before starting runs in it"
                )
            if (
                parent_run_id is not None
                and conn.execute(
                    sa.select(t.runs.c.run_id).where(t.runs.c.run_id == parent_run_id)
                ).first()
                is None
            ):
                raise NotFoundError(f"no run with id {parent_run_id!r} (given as the parent run)")
            conn.execute(
                t.runs.insert().values(
                    run_id=run_id,
                    experiment_id=experiment_id,
                    run_name=name,
                    status=RunStatus.RUNNING.value,
                    user=user,
                    start_ms=start,
                    parent_run_id=parent_run_id,
                    lifecycle_stage=ACTIVE,
                )
            )
            if tag_map:
                conn.execute(
                    t.tags.insert(),
                    [{"run_id": run_id, "key": k, "value": v} for k, v in tag_map.items()],
                )

        self._write(op)
        return Run(
            run_id=run_id,
            experiment_id=experiment_id,
            run_name=name,
            status=RunStatus.RUNNING,
            start_ms=start,
            end_ms=None,
            parent_run_id=parent_run_id,
            lifecycle_stage=LifecycleStage.ACTIVE,
            user=user,
            tags=tag_map,
        )

    def _load_runs(self, conn: Connection, rows: Sequence[Any]) -> list[Run]:
        """Runs with their params, tags and latest metrics: one UNION ALL per 500 runs.

        Search returns hundreds of runs with thousands of key/value rows; one round trip read
        with ``fetchall`` costs a fraction of three row-by-row result iterations.
        """
        if not rows:
            return []
        ids = [r.run_id for r in rows]
        params: dict[str, dict[str, str]] = {i: {} for i in ids}
        tags: dict[str, dict[str, str]] = {i: {} for i in ids}
        metrics: dict[str, dict[str, float]] = {i: {} for i in ids}
        for chunk_start in range(0, len(ids), 500):
            chunk = ids[chunk_start : chunk_start + 500]
            kinds = [
                sa.select(sa.literal(0), t.params.c.run_id, t.params.c.key, t.params.c.value).where(
                    t.params.c.run_id.in_(chunk)
                ),
                sa.select(sa.literal(1), t.tags.c.run_id, t.tags.c.key, t.tags.c.value).where(
                    t.tags.c.run_id.in_(chunk)
                ),
            ]
            for kind, run_id, key, value in conn.execute(sa.union_all(*kinds)).all():
                (params if kind == 0 else tags)[run_id][key] = value
            for run_id, key, value in conn.execute(
                sa.select(
                    t.latest_metrics.c.run_id, t.latest_metrics.c.key, t.latest_metrics.c.value
                ).where(t.latest_metrics.c.run_id.in_(chunk))
            ).all():
                metrics[run_id][key] = math.nan if value is None else value
        statuses = {s.value: s for s in RunStatus}
        stages = {s.value: s for s in LifecycleStage}
        return [
            Run(
                r.run_id,
                r.experiment_id,
                r.run_name,
                statuses[r.status],
                r.start_ms,
                r.end_ms,
                r.parent_run_id,
                stages[r.lifecycle_stage],
                r.user,
                r.status_message,
                params[r.run_id],
                metrics[r.run_id],
                tags[r.run_id],
            )
            for r in rows
        ]

    def get_run(self, run_id: str) -> Run:
        def op(conn: Connection) -> Run:
            row = conn.execute(sa.select(t.runs).where(t.runs.c.run_id == run_id)).first()
            if row is None:
                raise NotFoundError(
                    f"no run with id {run_id!r}; see `loopml runs list`", run_id=run_id
                )
            return self._load_runs(conn, [row])[0]

        return self._read(op)

    def _require_run(self, conn: Connection, run_id: str) -> None:
        if (
            conn.execute(sa.select(t.runs.c.run_id).where(t.runs.c.run_id == run_id)).first()
            is None
        ):
            raise NotFoundError(f"no run with id {run_id!r}; see `loopml runs list`", run_id=run_id)

    def update_run(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        end_ms: int | None = None,
        status_message: str | None = None,
        run_name: str | None = None,
    ) -> Run:
        values: dict[str, Any] = {}
        if status is not None:
            values["status"] = RunStatus(status).value
        if end_ms is not None:
            values["end_ms"] = int(end_ms)
        if status_message is not None:
            values["status_message"] = status_message
        if run_name is not None:
            values["run_name"] = check_name(run_name, "a run name")

        def op(conn: Connection) -> None:
            if not values:
                self._require_run(conn, run_id)
                return
            res = conn.execute(t.runs.update().where(t.runs.c.run_id == run_id).values(**values))
            if res.rowcount == 0:
                raise NotFoundError(f"no run with id {run_id!r}", run_id=run_id)

        self._write(op)
        return self.get_run(run_id)

    def _set_run_stage(self, run_id: str, stage: str) -> None:
        def op(conn: Connection) -> None:
            res = conn.execute(
                t.runs.update()
                .where(t.runs.c.run_id == run_id)
                .values(lifecycle_stage=stage, deleted_ms=now_ms() if stage == DELETED else None)
            )
            if res.rowcount == 0:
                raise NotFoundError(f"no run with id {run_id!r}", run_id=run_id)

        self._write(op)

    def delete_run(self, run_id: str) -> None:
        self._set_run_stage(run_id, DELETED)

    def restore_run(self, run_id: str) -> None:
        self._set_run_stage(run_id, ACTIVE)

    def log_params(self, run_id: str, params: Mapping[str, str]) -> None:
        new = {check_key(k, "param key"): str(v) for k, v in params.items()}
        if not new:
            return

        def op(conn: Connection) -> None:
            # no run lookup first: the foreign key refuses an unknown run (mapped below)
            existing = dict(
                conn.execute(
                    sa.select(t.params.c.key, t.params.c.value).where(
                        t.params.c.run_id == run_id, t.params.c.key.in_(list(new))
                    )
                ).all()
            )
            for key, old in existing.items():
                if old != new[key]:
                    raise AlreadyExistsError(
                        f"param {key!r} of run {run_id} is already {old!r}; it cannot change to "
                        f"{new[key]!r} (params are immutable: log a new run, or use a metric or tag)",
                        key=key,
                        old=old,
                        new=new[key],
                    )
            missing = [
                {"run_id": run_id, "key": k, "value": v}
                for k, v in new.items()
                if k not in existing
            ]
            if missing:
                conn.execute(t.params.insert(), missing)

        try:
            self._write(op)
        except sa.exc.IntegrityError as exc:
            if self._unknown_runs([run_id]):
                raise NotFoundError(
                    f"no run with id {run_id!r}; see `loopml runs list`", run_id=run_id
                ) from exc
            self._write(op)  # another writer logged the same keys meanwhile: compare again

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        rows = [
            {"run_id": run_id, "key": check_key(k, "tag key"), "value": str(v)}
            for k, v in tags.items()
        ]
        if not rows:
            return
        insert = self._upsert()

        def op(conn: Connection) -> None:
            self._require_run(conn, run_id)
            stmt = insert(t.tags).values(rows)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["run_id", "key"], set_={"value": stmt.excluded.value}
                )
            )

        self._write(op)

    def delete_tag(self, run_id: str, key: str) -> None:
        def op(conn: Connection) -> None:
            res = conn.execute(
                t.tags.delete().where(t.tags.c.run_id == run_id, t.tags.c.key == key)
            )
            if res.rowcount == 0:
                self._require_run(conn, run_id)
                raise NotFoundError(f"run {run_id} has no tag {key!r}")

        self._write(op)

    # -- metrics ----------------------------------------------------------------------------
    def log_metrics(self, points: Sequence[MetricPoint]) -> None:
        if not points:
            return

        def op(conn: Connection) -> None:
            self.write_points(conn, points)

        try:
            self._write(op)
        except sa.exc.IntegrityError as exc:
            unknown = self._unknown_runs({r for r, *_ in points})
            if unknown:
                raise NotFoundError(
                    f"cannot log metrics: no run with id {sorted(unknown)[0]!r}"
                ) from exc
            raise

    def write_points(self, conn: Connection, points: Sequence[MetricPoint]) -> None:
        """Insert points inside the caller's transaction (the server adds its idempotency key)."""
        rows = [(r, k, None if v != v else v, s, ts) for r, k, v, s, ts in points]
        latest: dict[tuple[str, str], tuple[int, int, float | None]] = {}
        for r, k, v, s, ts in rows:
            cur = latest.get((r, k))
            if cur is None or (s, ts) >= (cur[0], cur[1]):
                latest[(r, k)] = (s, ts, v)
        latest_rows = [
            {"run_id": r, "key": k, "value": v, "step": s, "timestamp_ms": ts}
            for (r, k), (s, ts, v) in latest.items()
        ]
        conn.exec_driver_sql(self._insert_metric_sql, rows)
        conn.execute(self._latest_upsert, latest_rows)

    def end_run(
        self,
        run_id: str,
        status: RunStatus,
        end_ms: int,
        message: str | None = None,
        points: Sequence[MetricPoint] = (),
    ) -> None:
        """The last queued points and the final status in one transaction: a run ends once."""
        values: dict[str, Any] = {"status": RunStatus(status).value, "end_ms": int(end_ms)}
        if message is not None:
            values["status_message"] = message

        def op(conn: Connection) -> None:
            if points:
                self.write_points(conn, points)
            res = conn.execute(t.runs.update().where(t.runs.c.run_id == run_id).values(**values))
            if res.rowcount == 0:
                raise NotFoundError(f"no run with id {run_id!r}", run_id=run_id)

        try:
            self._write(op)
        except sa.exc.IntegrityError as exc:
            unknown = self._unknown_runs({r for r, *_ in points})
            if unknown:
                raise NotFoundError(
                    f"cannot log metrics: no run with id {sorted(unknown)[0]!r}"
                ) from exc
            raise

    def _unknown_runs(self, run_ids: Iterable[str]) -> set[str]:
        ids = set(run_ids)
        found = self._read(
            lambda conn: {
                r
                for (r,) in conn.execute(sa.select(t.runs.c.run_id).where(t.runs.c.run_id.in_(ids)))
            }
        )
        return ids - found

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        def op(conn: Connection) -> list[Metric]:
            self._require_run(conn, run_id)
            q = (
                sa.select(t.metrics.c.value, t.metrics.c.step, t.metrics.c.timestamp_ms)
                .where(t.metrics.c.run_id == run_id, t.metrics.c.key == key)
                .order_by(t.metrics.c.step, t.metrics.c.timestamp_ms, t.metrics.c.id)
            )
            return [Metric(key, _float_or_nan(v), s, ts) for v, s, ts in conn.execute(q)]

        return self._read(op)

    # -- search -----------------------------------------------------------------------------
    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
        include_deleted: bool = False,
    ) -> RunList:
        from loopml.store.metadata.search_sql import build_run_query

        if not isinstance(max_results, int) or not 0 < max_results <= 50_000:
            raise InvalidParameterError(
                f"max_results must be between 1 and 50000, got {max_results!r}"
            )
        offset = _decode_token(page_token)
        query = build_run_query(list(experiment_ids), filter, order_by, include_deleted)

        def op(conn: Connection) -> RunList:
            rows = conn.execute(query.limit(max_results + 1).offset(offset)).all()
            result = RunList(self._load_runs(conn, rows[:max_results]))
            if len(rows) > max_results:
                result.next_page_token = _encode_token(offset + max_results)
            return result

        return self._read(op)

    # -- artifacts --------------------------------------------------------------------------
    def record_artifact(
        self, run_id: str, path: str, object_hash: str, size: int, kind: str
    ) -> None:
        if kind not in ("file", "dir"):
            raise InvalidParameterError(f"artifact kind must be 'file' or 'dir', got {kind!r}")
        insert = self._upsert()
        row = {
            "run_id": run_id,
            "path": path,
            "object_hash": object_hash,
            "size": int(size),
            "kind": kind,
            "created_ms": now_ms(),
        }

        def op(conn: Connection) -> None:
            self._require_run(conn, run_id)
            stmt = insert(t.artifacts).values(row)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["run_id", "path"],
                    set_={
                        c: stmt.excluded[c] for c in ("object_hash", "size", "kind", "created_ms")
                    },
                )
            )

        self._write(op)

    def list_artifacts(self, run_id: str, prefix: str = "") -> list[ArtifactRecord]:
        def op(conn: Connection) -> list[ArtifactRecord]:
            self._require_run(conn, run_id)
            q = (
                sa.select(t.artifacts)
                .where(t.artifacts.c.run_id == run_id)
                .order_by(t.artifacts.c.path)
            )
            if prefix:
                q = q.where(t.artifacts.c.path.startswith(prefix, autoescape=True))
            return [
                ArtifactRecord(r.path, r.object_hash, r.size, r.kind, r.created_ms)
                for r in conn.execute(q)
            ]

        return self._read(op)

    # -- housekeeping -----------------------------------------------------------------------
    def referenced_objects(self) -> tuple[set[str], set[str]]:
        def op(conn: Connection) -> tuple[set[str], set[str]]:
            live: set[str] = set()
            manifests: set[str] = set()
            for table, column, kind_column in t.OBJECT_REFERENCES:
                cols = [table.c[column]] + ([table.c[kind_column]] if kind_column else [])
                for row in conn.execute(sa.select(*cols).distinct()):
                    live.add(row[0])
                    if kind_column and row[1] == "dir":
                        manifests.add(row[0])
            return live, manifests

        return self._read(op)

    def purge_deleted(self, older_than_ms: int) -> int:
        def op(conn: Connection) -> int:
            doomed_experiments = sa.select(t.experiments.c.experiment_id).where(
                t.experiments.c.lifecycle_stage == DELETED,
                t.experiments.c.deleted_ms < older_than_ms,
            )
            doomed_runs = sa.select(t.runs.c.run_id).where(
                sa.or_(
                    sa.and_(
                        t.runs.c.lifecycle_stage == DELETED, t.runs.c.deleted_ms < older_than_ms
                    ),
                    t.runs.c.experiment_id.in_(doomed_experiments),
                )
            )
            run_ids = [r for (r,) in conn.execute(doomed_runs)]
            for start in range(0, len(run_ids), 500):
                chunk = run_ids[start : start + 500]
                for table in (t.metrics, t.latest_metrics, t.params, t.tags, t.artifacts):
                    conn.execute(table.delete().where(table.c.run_id.in_(chunk)))
                conn.execute(t.runs.delete().where(t.runs.c.run_id.in_(chunk)))
            exp_ids = [e for (e,) in conn.execute(doomed_experiments)]
            if exp_ids:
                conn.execute(
                    t.experiment_tags.delete().where(t.experiment_tags.c.experiment_id.in_(exp_ids))
                )
                conn.execute(
                    t.experiments.delete().where(t.experiments.c.experiment_id.in_(exp_ids))
                )
            return len(run_ids)

        return self._write(op)


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"offset": offset})).decode()


def _decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = orjson.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidParameterError(
            f"invalid page token {token!r}: pass the token a search returned"
        ) from exc
    if not isinstance(offset, int) or offset < 0:
        raise InvalidParameterError(
            f"invalid page token {token!r}: pass the token a search returned"
        )
    return offset
