"""Filters and order_by against real databases: SQLite always, PostgreSQL when reachable."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa

from loopml.errors import InvalidParameterError
from loopml.store.metadata import schema as t
from loopml.store.metadata.filter import ATTRIBUTES
from loopml.store.metadata.search_sql import ATTRIBUTE_COLUMNS, build_run_query
from tests.support.services import postgres_schema

NAN = float("nan")


@dataclass
class R:
    run_id: str
    status: str = "FINISHED"
    user: str | None = "frank"
    end: int | None = -1  # -1: start + 1000
    parent: str | None = None
    experiment: str = "1"
    stage: str = "active"
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    start: int = 0


RUNS = [
    R("r00", user="alice", metrics={"loss": 0.05, "acc": 0.9, "val/loss": 0.07},
      params={"lr": "0.01", "max_depth": "8", "model": "xgb"},
      tags={"loopml.git.commit": "abc123", "team": "Vision"}),
    R("r01", user="bob", metrics={"loss": 0.2, "acc": 0.8},
      params={"lr": "0.1", "max_depth": "10", "model": "XGB"}, tags={"team": "vision"}),
    R("r02", status="FAILED", user="alice", end=1300, metrics={"loss": NAN, "acc": 0.5},
      params={"lr": "0.01", "max_depth": "8", "model": "lgbm"}, tags={"team": "nlp"}),
    R("r03", status="RUNNING", user="carol", end=None, metrics={"acc": 0.7},
      params={"lr": "1e-3", "model": "lgbm"}),
    R("r04", user=None, parent="r00", metrics={"loss": 0.09, "my key": 1.0},
      params={"lr": "0.001", "model": "x_b"}, tags={"note": "it's", "team": "vision"}),
    R("r05", user="bob", parent="r00", metrics={"loss": -1.5},
      params={"max_depth": "9", "model": "xab"}, tags={"team": "Vi%on"}),
    R("r06", status="KILLED", user="alice", end=1700, metrics={"loss": 0.1},
      params={"model": "a'b"}),
    R("r07", user="bob", stage="deleted", metrics={"loss": 0.01}, params={"lr": "0.01"},
      tags={"team": "vision"}),
    R("r08", user="dave", metrics={"loss": 0.3, "acc": 0.95}, params={"lr": "0.3"}),
    R("r09", user="dave", metrics={"loss": 0.4, "acc": NAN}, params={"lr": "0.3"},
      tags={"team": "nlp"}),
    R("r10", user="erin", metrics={"loss": 1e6}, start=2000),
    R("r11", user="erin", metrics={"loss": 0.5}, start=2000),
    R("r12", metrics={"loss": 0.6}),
    R("r13", metrics={"loss": 0.7}),
    R("r14", params={"model": "[a]*?"}),
    R("r15", metrics={"acc": 0.6}),
    R("r16", experiment="2", metrics={"loss": 0.01, "acc": 0.99}, params={"lr": "0.01"},
      tags={"team": "vision"}),
    R("r17", experiment="2", metrics={"loss": 0.02}),
    R("r18", experiment="2"),
    R("r19", experiment="2", metrics={"loss": 0.03}),
]  # fmt: skip
for _n, _r in enumerate(RUNS):
    _r.start = _r.start or 1000 + 100 * _n  # r10 and r11 tie at 2000: run_id breaks it
    _r.end = _r.start + 1000 if _r.end == -1 else _r.end

ACTIVE_1 = [r.run_id for r in RUNS if r.experiment == "1" and r.stage == "active"]


def _populate(engine: sa.Engine) -> None:
    t.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(t.experiments),
            [
                {"experiment_id": e, "name": f"exp{e}", "created_ms": 0, "updated_ms": 0}
                for e in "12"
            ],
        )
        for n, r in enumerate(RUNS):
            conn.execute(
                sa.insert(t.runs).values(
                    run_id=r.run_id, experiment_id=r.experiment, run_name=f"name-{n:02d}",
                    status=r.status, user=r.user, start_ms=r.start, end_ms=r.end,
                    parent_run_id=r.parent, lifecycle_stage=r.stage,
                )
            )  # fmt: skip
            for key, value in r.metrics.items():
                stored = None if value != value else value  # NaN is stored as NULL
                conn.execute(
                    sa.insert(t.latest_metrics).values(
                        run_id=r.run_id, key=key, value=stored, step=0, timestamp_ms=0
                    )
                )
            for table, values in ((t.params, r.params), (t.tags, r.tags)):
                for key, text in values.items():
                    conn.execute(sa.insert(table).values(run_id=r.run_id, key=key, value=text))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        eng = sa.create_engine(f"sqlite:///{tmp_path / 'meta.db'}")
        _populate(eng)
        yield eng
        eng.dispose()
        return
    with postgres_schema() as url:
        eng = sa.create_engine(url)
        _populate(eng)
        yield eng
        eng.dispose()


def search(
    engine: sa.Engine,
    filter_text: str | None = None,
    order_by: Sequence[str] | None = None,
    experiments: Sequence[str] = ("1",),
    include_deleted: bool = False,
) -> list[str]:
    query = build_run_query(experiments, filter_text, order_by, include_deleted)
    with engine.connect() as conn:
        return [row.run_id for row in conn.execute(query)]


def ids(*numbers: int) -> set[str]:
    return {f"r{n:02d}" for n in numbers}


FILTERS: list[tuple[str, set[str]]] = [
    ("metrics.loss < 0.1", ids(0, 4, 5)),  # r02 (NaN) and runs without loss never match
    ("metrics.loss <= 0.1", ids(0, 4, 5, 6)),
    ("metrics.loss > 0.4", ids(10, 11, 12, 13)),
    ("metrics.loss >= 0.4", ids(9, 10, 11, 12, 13)),
    ("metrics.loss = 0.1", ids(6)),
    ("metrics.loss != 0.1", ids(0, 1, 4, 5, 8, 9, 10, 11, 12, 13)),
    ("metrics.loss IN (0.05, 0.2)", ids(0, 1)),
    ("metrics.loss NOT IN (0.05, 0.2)", ids(4, 5, 6, 8, 9, 10, 11, 12, 13)),
    ("metrics.loss > -2 and metrics.loss < -1", ids(5)),
    ("metrics.loss >= 1e6", ids(10)),
    ("metrics.`val/loss` < 1", ids(0)),
    ("metrics.val/loss < 1", ids(0)),
    ("metrics.`my key` = 1", ids(4)),
    ("metrics.acc > 0.6", ids(0, 1, 3, 8)),
    ("not metrics.loss < 0.1", set(ACTIVE_1) - ids(0, 4, 5)),
    ("metrics.missing < 1", set()),
    ("params.max_depth = 8", ids(0, 2)),
    ("params.max_depth = '8'", ids(0, 2)),
    ("params.lr = 0.01", ids(0, 2)),
    ("params.lr = 1e-3", ids(3)),
    ("params.lr != '0.01'", ids(1, 3, 4, 8, 9)),  # only runs that have the key
    ("params.missing != 'x'", set()),
    ("params.model LIKE 'x%'", ids(0, 4, 5)),  # case-sensitive on both backends
    ("params.model ILIKE 'x%'", ids(0, 1, 4, 5)),
    ("params.model LIKE 'x_b'", ids(0, 4, 5)),
    ("params.model LIKE 'x\\_b'", ids(4)),
    ("params.model NOT LIKE 'x%'", ids(1, 2, 3, 6, 14)),
    ("params.model LIKE '[a]*?'", ids(14)),  # GLOB's specials are plain text in LIKE
    ("params.model LIKE '[a]%'", ids(14)),
    ("params.model = 'a''b'", ids(6)),
    ('params.model = "a\'b"', ids(6)),
    ("params.model IN ('xgb', 'lgbm')", ids(0, 2, 3)),
    ("params.model NOT IN ('xgb', 'lgbm')", ids(1, 4, 5, 6, 14)),
    ("tags.team = 'vision'", ids(1, 4)),
    ("tags.team ILIKE 'vision'", ids(0, 1, 4)),
    ("tags.team LIKE 'Vi%on'", ids(0, 5)),
    ("tags.team LIKE 'Vi\\%on'", ids(5)),
    ("tags.loopml.git.commit = 'abc123'", ids(0)),
    ("tags.note = 'it''s'", ids(4)),
    ("attributes.status = 'FINISHED'", set(ACTIVE_1) - ids(2, 3, 6)),
    ("status != 'FINISHED'", ids(2, 3, 6)),
    ("attributes.status IN ('FAILED', 'KILLED')", ids(2, 6)),
    ("attributes.start_time >= 2000", ids(10, 11, 12, 13, 14, 15)),
    ("start_time > 1999.5", ids(10, 11, 12, 13, 14, 15)),
    ("start_time = 2000.5", set()),
    ("start_time < 1100.5", ids(0, 1)),
    ("attr.end_time < 1500", ids(2)),
    ("end_time > 0", set(ACTIVE_1) - ids(3)),
    ("not end_time > 0", ids(3)),  # NULL fails the comparison, so NOT keeps it
    ("attributes.user = 'alice'", ids(0, 2, 6)),
    ("user != 'alice'", set(ACTIVE_1) - ids(0, 2, 6, 4)),
    ("not user = 'alice'", set(ACTIVE_1) - ids(0, 2, 6)),
    ("run.run_name LIKE 'name-0%'", ids(0, 1, 2, 3, 4, 5, 6, 8, 9)),
    ("attributes.run_id IN ('r00', 'r07', 'r16')", ids(0)),
    ("parent_run_id = 'r00'", ids(4, 5)),
    ("metrics.loss < 0.1 or tags.team = 'nlp'", ids(0, 2, 4, 5, 9)),
    ("metrics.loss < 0.1 and (tags.team = 'vision' or params.max_depth = '9')", ids(4, 5)),
    ("(metrics.loss < 0.1 or params.lr = '0.3') and not tags.team = 'nlp'", ids(0, 4, 5, 8)),
]


@pytest.mark.parametrize(("text", "expected"), FILTERS, ids=[f[0] for f in FILTERS])
def test_filter_returns_exactly_the_matching_runs(
    engine: sa.Engine, text: str, expected: set[str]
) -> None:
    found = search(engine, text)
    assert len(found) == len(set(found))
    assert set(found) == expected


def test_experiments_and_deleted_runs(engine: sa.Engine) -> None:
    assert search(engine, None) == sorted(ACTIVE_1, key=lambda i: (-RUNS[int(i[1:])].start, i))
    assert set(search(engine, "metrics.loss < 0.1", experiments=["2"])) == ids(16, 17, 19)
    assert set(search(engine, "attributes.experiment_id = '2'", experiments=["1", "2"])) == ids(
        16, 17, 18, 19
    )
    assert set(search(engine, "metrics.loss < 0.1", include_deleted=True)) == ids(0, 4, 5, 7)
    assert search(engine, "lifecycle_stage = 'deleted'", include_deleted=True) == ["r07"]
    assert search(engine, None, experiments=[]) == []


ORDERS: list[tuple[list[str], list[int]]] = [
    (["metrics.loss ASC"], [5, 0, 4, 6, 1, 8, 9, 11, 12, 13, 10, 15, 14, 3, 2]),
    (["metrics.loss DESC"], [10, 13, 12, 11, 9, 8, 1, 6, 4, 0, 5, 15, 14, 3, 2]),
    ([], [15, 14, 13, 12, 10, 11, 9, 8, 6, 5, 4, 3, 2, 1, 0]),
    (["params.lr"], [4, 2, 0, 1, 9, 8, 3, 15, 14, 13, 12, 10, 11, 6, 5]),
    (["attributes.end_time DESC"], [15, 14, 13, 12, 10, 11, 9, 8, 5, 4, 1, 0, 6, 2, 3]),
    (["end_time"], [2, 6, 0, 1, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15, 3]),
    (["start_time ASC"], [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15]),
    (
        ["tags.team DESC", "metrics.acc"],
        [1, 4, 2, 9, 0, 5, 15, 3, 8, 14, 13, 12, 10, 11, 6],
    ),
]


@pytest.mark.parametrize(("order_by", "expected"), ORDERS, ids=[str(o[0]) for o in ORDERS])
def test_order_by_sorts_nulls_last_with_a_stable_tiebreak(
    engine: sa.Engine, order_by: list[str], expected: list[int]
) -> None:
    assert search(engine, None, order_by) == [f"r{n:02d}" for n in expected]


def test_pages_neither_overlap_nor_skip(engine: sa.Engine) -> None:
    query = build_run_query(["1"], "params.lr LIKE '%'", ["params.lr DESC"])
    with engine.connect() as conn:
        whole = [r.run_id for r in conn.execute(query)]
        pages = [
            r.run_id
            for offset in range(0, 9, 2)
            for r in conn.execute(query.limit(2).offset(offset))
        ]
    assert pages == whole == ["r03", "r09", "r08", "r01", "r02", "r00", "r04"]


INJECTIONS = [
    "params.x = 'a''; DROP TABLE runs; --'",
    "params.`x'; DROP TABLE runs; --` = 'a'",
    "tags.team LIKE '%'' OR 1=1 --'",
    "attributes.run_id IN ('r00'') OR (''1''=''1')",
]


@pytest.mark.parametrize("text", INJECTIONS)
def test_injection_attempts_are_plain_values(engine: sa.Engine, text: str) -> None:
    sql = str(build_run_query(["1"], text, None).compile(engine))
    assert "DROP" not in sql and "1=1" not in sql and "OR (" not in sql
    assert search(engine, text) == []
    assert len(search(engine, None)) == len(ACTIVE_1)  # the runs table is still there


def test_errors_surface_from_the_query_builder() -> None:
    with pytest.raises(InvalidParameterError) as info:
        build_run_query(["1"], "metrics.loss ~ 0.1", None)
    assert info.value.details["position"] == 13
    with pytest.raises(InvalidParameterError, match="order_by"):
        build_run_query(["1"], None, ["metrics.loss SIDEWAYS"])


def test_every_attribute_has_a_column() -> None:
    assert set(ATTRIBUTE_COLUMNS) == set(ATTRIBUTES)


@pytest.mark.parametrize(
    ("text", "table", "index"),
    [
        ("metrics.loss < 0.1", "latest_metrics", "ix_latest_metrics_key_value"),
        ("params.lr = '0.01'", "params", "ix_params_key_value"),
        ("tags.team LIKE 'v%'", "tags", "ix_tags_key_value"),
    ],
)
def test_sqlite_plan_uses_an_index_not_a_scan(
    tmp_path: Path, text: str, table: str, index: str
) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'meta.db'}")
    _populate(engine)
    query = build_run_query(["1"], text, None)
    sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        plan = "\n".join(row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
    engine.dispose()
    assert f"SCAN {table}" not in plan, plan
    # the primary key (run_id, key) probe per run, or the (key, value) index range
    assert f"SEARCH {table} USING INDEX sqlite_autoindex_{table}_1" in plan or index in plan, plan
