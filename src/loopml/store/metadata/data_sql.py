"""Dataset records on SQL, sharing the engine (and migrations) of :class:`SqlMetadataStore`."""

from __future__ import annotations

import re
import time
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from loopml.errors import InvalidParameterError, NotFoundError
from loopml.store.metadata.data_base import DatasetStore, NewVersion
from loopml.store.metadata.data_entities import DatasetSummary, DatasetVersion, RunInput
from loopml.store.metadata.engine import Transactions
from loopml.store.metadata.schema import runs
from loopml.store.metadata.schema_data import dataset_versions as dv
from loopml.store.metadata.schema_data import run_inputs as ri

__all__ = ["SqlDatasetStore", "check_dataset_name"]

# The names a ``data:/<name>/<version>`` URI can carry.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,254}$")
_FIELDS = (
    "manifest_hash",
    "layout",
    "file_count",
    "size",
    "message",
    "author",
    "git_commit",
    "source_path",
    "table_format",
    "num_rows",
)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _json(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()
    except TypeError as exc:  # e.g. an integer past 64 bits sent to the server
        raise InvalidParameterError(f"cannot store this value as JSON: {exc}") from None


def _unjson(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def _version(row: Any) -> DatasetVersion:
    return DatasetVersion(
        name=row.name,
        version=row.version,
        manifest_hash=row.manifest_hash,
        layout=row.layout,
        file_count=row.file_count,
        size=row.size,
        created_ms=row.created_ms,
        message=row.message,
        author=row.author,
        git_commit=row.git_commit,
        source_path=row.source_path,
        table_format=row.table_format,
        num_rows=row.num_rows,
        table_schema=_unjson(row.table_schema),
        profile=_unjson(row.profile),
    )


def _no_dataset(name: str) -> NotFoundError:
    return NotFoundError(
        f"no dataset named {name!r}; see `loopml data list`, or add it with "
        f"`loopml data add PATH --name {name}`",
        name=name,
    )


class SqlDatasetStore(Transactions, DatasetStore):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- versions ---------------------------------------------------------------------------
    def create_version(self, name: str, fields: NewVersion) -> tuple[DatasetVersion, bool]:
        check_dataset_name(name)
        row = {key: fields.get(key) for key in _FIELDS}
        row["table_schema"] = _json(fields.get("table_schema"))
        row["profile"] = _json(fields.get("profile"))

        def op(conn: Connection) -> tuple[DatasetVersion, bool]:
            latest = conn.execute(
                sa.select(dv).where(dv.c.name == name).order_by(dv.c.version.desc()).limit(1)
            ).first()
            if latest is not None and latest.manifest_hash == row["manifest_hash"]:
                return _version(latest), False
            number = 1 if latest is None else latest.version + 1
            conn.execute(dv.insert().values(name=name, version=number, created_ms=_now_ms(), **row))
            created = conn.execute(
                sa.select(dv).where(dv.c.name == name, dv.c.version == number)
            ).one()
            return _version(created), True

        for attempt in range(8):
            try:
                return self._write(op)
            except sa.exc.IntegrityError:  # a concurrent add took the number (PostgreSQL)
                if attempt == 7:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def get_version(self, name: str, version: int | None = None) -> DatasetVersion:
        def op(conn: Connection) -> DatasetVersion:
            q = sa.select(dv).where(dv.c.name == name)
            q = (
                q.order_by(dv.c.version.desc()).limit(1)
                if version is None
                else q.where(dv.c.version == int(version))
            )
            row = conn.execute(q).first()
            if row is not None:
                return _version(row)
            if version is None or not _exists(conn, name):
                raise _no_dataset(name)
            raise NotFoundError(
                f"dataset {name!r} has no version {version}; see `loopml data log {name}`",
                name=name,
                version=version,
            )

        return self._read(op)

    def list_versions(self, name: str) -> list[DatasetVersion]:
        def op(conn: Connection) -> list[DatasetVersion]:
            rows = conn.execute(
                sa.select(dv).where(dv.c.name == name).order_by(dv.c.version.desc())
            ).all()
            if not rows:
                raise _no_dataset(name)
            return [_version(r) for r in rows]

        return self._read(op)

    def list_datasets(self) -> list[DatasetSummary]:
        def op(conn: Connection) -> list[DatasetSummary]:
            latest = (
                sa.select(
                    dv.c.name,
                    sa.func.max(dv.c.version).label("latest"),
                    sa.func.count().label("n"),
                )
                .group_by(dv.c.name)
                .subquery()
            )
            q = (
                sa.select(dv.c.name, latest.c.latest, latest.c.n, dv.c.size, dv.c.created_ms)
                .join(latest, sa.and_(dv.c.name == latest.c.name, dv.c.version == latest.c.latest))
                .order_by(dv.c.name)
            )
            return [DatasetSummary(r[0], r[1], r[2], r[3], r[4]) for r in conn.execute(q)]

        return self._read(op)

    def set_profile(self, name: str, version: int, profile: dict[str, Any] | None) -> None:
        def op(conn: Connection) -> None:
            res = conn.execute(
                dv.update()
                .where(dv.c.name == name, dv.c.version == int(version))
                .values(profile=_json(profile))
            )
            if res.rowcount == 0:
                raise NotFoundError(f"no version data:/{name}/{version}", name=name)

        self._write(op)

    # -- provenance -------------------------------------------------------------------------
    def log_input(self, run_id: str, name: str, version: int, context: str) -> RunInput:
        if not context or len(context) > 64:
            raise InvalidParameterError(
                f"the input context must be 1 to 64 characters, got {context!r}"
            )
        created = _now_ms()

        def op(conn: Connection) -> None:
            if (
                conn.execute(sa.select(runs.c.run_id).where(runs.c.run_id == run_id)).first()
                is None
            ):
                raise NotFoundError(f"no run with id {run_id!r}", run_id=run_id)
            found = conn.execute(
                sa.select(dv.c.version).where(dv.c.name == name, dv.c.version == int(version))
            ).first()
            if found is None:
                raise NotFoundError(f"no dataset version data:/{name}/{version}", name=name)
            exists = conn.execute(
                sa.select(ri.c.run_id).where(
                    ri.c.run_id == run_id, ri.c.name == name, ri.c.version == int(version)
                )
            ).first()
            values = {"context": context, "created_ms": created}
            if exists is None:
                conn.execute(
                    ri.insert().values(run_id=run_id, name=name, version=int(version), **values)
                )
            else:
                conn.execute(
                    ri.update()
                    .where(ri.c.run_id == run_id, ri.c.name == name, ri.c.version == int(version))
                    .values(**values)
                )

        self._write(op)
        return RunInput(run_id, name, int(version), context, created)

    def inputs_of_run(self, run_id: str) -> list[RunInput]:
        return self._inputs(ri.c.run_id == run_id)

    def runs_of_version(self, name: str, version: int) -> list[RunInput]:
        return self._inputs(sa.and_(ri.c.name == name, ri.c.version == int(version)))

    def _inputs(self, clause: Any) -> list[RunInput]:
        def op(conn: Connection) -> list[RunInput]:
            q = sa.select(ri).where(clause).order_by(ri.c.created_ms, ri.c.name, ri.c.version)
            return [
                RunInput(r.run_id, r.name, r.version, r.context, r.created_ms)
                for r in conn.execute(q)
            ]

        return self._read(op)


def check_dataset_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidParameterError(
            f"{name!r} is not a valid dataset name: use letters, digits, '_', '.' and '-', "
            "starting with a letter or digit (it becomes part of data:/<name>/<version>)",
            name=str(name),
        )
    return name


def _exists(conn: Connection, name: str) -> bool:
    return conn.execute(sa.select(dv.c.name).where(dv.c.name == name).limit(1)).first() is not None
