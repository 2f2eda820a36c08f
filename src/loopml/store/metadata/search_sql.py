"""A parsed run filter and order_by, as one SQLAlchemy Core ``SELECT`` over ``runs``.

Keys and literals only ever become bound parameters. A condition on a metric, param or tag is a
correlated ``EXISTS (SELECT 1 FROM <table> WHERE run_id = runs.run_id AND key = :k AND value <op>
:v)``. SQLite answers it with one primary-key probe per run of the searched experiments, so its
cost follows their size, not the store's: on 200k runs in 100 experiments, searching one took
8-10 ms, where ``run_id IN (SELECT run_id ... )`` took up to 200 ms building its list over every
experiment (every experiment logs ``loss``). PostgreSQL plans both forms as one semi-join and
picks the ``(key, value)`` index or the primary key by cost.

Every comparison is TRUE or FALSE, never NULL, so ``NOT`` is an exact complement.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from loopml.store.metadata import schema as t
from loopml.store.metadata.filter import (
    And,
    Comparison,
    Expr,
    Or,
    OrderTerm,
    Scalar,
    Value,
    parse_filter,
    parse_order_by,
)

__all__ = ["ATTRIBUTE_COLUMNS", "build_run_query", "filter_clause", "order_clauses"]

ATTRIBUTE_COLUMNS: dict[str, sa.Column[Any]] = {
    "run_id": t.runs.c.run_id,
    "run_name": t.runs.c.run_name,
    "status": t.runs.c.status,
    "start_time": t.runs.c.start_ms,
    "end_time": t.runs.c.end_ms,
    "experiment_id": t.runs.c.experiment_id,
    "user": t.runs.c.user,
    "parent_run_id": t.runs.c.parent_run_id,
    "lifecycle_stage": t.runs.c.lifecycle_stage,
}
_KEYED: dict[str, sa.Table] = {"metric": t.latest_metrics, "param": t.params, "tag": t.tags}


class _CaseSensitiveLike(FunctionElement[bool]):
    """Case-sensitive LIKE with ``\\`` as escape on every backend.

    SQLite's LIKE ignores case, so there it becomes GLOB on a translated pattern (both patterns
    are bound; each dialect renders only the one it uses).
    """

    type = sa.Boolean()
    name = "like"
    inherit_cache = True


@compiles(_CaseSensitiveLike)
def _like_default(element: _CaseSensitiveLike, compiler: SQLCompiler, **kw: Any) -> str:
    column, pattern, _ = element.clauses
    return f"({compiler.process(column, **kw)} LIKE {compiler.process(pattern, **kw)} ESCAPE '\\')"


@compiles(_CaseSensitiveLike, "sqlite")
def _like_sqlite(element: _CaseSensitiveLike, compiler: SQLCompiler, **kw: Any) -> str:
    column, _, glob = element.clauses
    return f"({compiler.process(column, **kw)} GLOB {compiler.process(glob, **kw)})"


def _glob(pattern: str) -> str:
    """Translate a LIKE pattern (``%``, ``_``, ``\\`` escapes) to an equivalent GLOB pattern."""
    out, chars = [], iter(pattern)
    for c in chars:
        if c == "\\":
            c = next(chars, "")
            out.append(f"[{c}]" if c in "*?[" else c)
        else:
            out.append({"%": "*", "_": "?", "*": "[*]", "?": "[?]", "[": "[[]"}.get(c, c))
    return "".join(out)


def _compare(column: ColumnElement[Any], op: str, value: Value) -> ColumnElement[bool]:
    if isinstance(value, tuple):
        return column.in_(value) if op == "IN" else column.not_in(value)
    cond: ColumnElement[bool]
    if op.endswith("ILIKE"):
        cond = column.ilike(value, escape="\\")
    elif op.endswith("LIKE"):
        cond = _CaseSensitiveLike(column, sa.literal(str(value)), sa.literal(_glob(str(value))))
    else:
        return {
            "=": column.__eq__,
            "!=": column.__ne__,
            "<": column.__lt__,
            "<=": column.__le__,
            ">": column.__gt__,
            ">=": column.__ge__,
        }[op](value)
    return sa.not_(cond) if op.startswith("NOT") else cond


def _integral(value: Value) -> Value:
    """``1e3`` on an integer column binds as 1000, so PostgreSQL keeps using its index."""

    def one(v: Scalar) -> Scalar:
        return int(v) if isinstance(v, float) and v.is_integer() else v

    return tuple(one(v) for v in value) if isinstance(value, tuple) else one(value)


def _numeric(column: sa.Column[Any], value: Value) -> ColumnElement[Any]:
    """Compare an integer column as a float when the literal has a fraction (1.5 is not 2)."""
    values = value if isinstance(value, tuple) else (value,)
    if isinstance(column.type, sa.Integer) and any(
        isinstance(v, float) and not v.is_integer() for v in values
    ):
        return sa.type_coerce(column, sa.Float(53))
    return column


def _comparison(c: Comparison) -> ColumnElement[bool]:
    if c.kind == "attribute":
        column = ATTRIBUTE_COLUMNS[c.key]
        cond = _compare(_numeric(column, c.value), c.op, _integral(c.value))
        # NULL (a running run's end_time, no user) fails every comparison, NOT included
        return sa.and_(column.is_not(None), cond) if column.nullable else cond
    table = _KEYED[c.kind]
    return sa.exists().where(
        table.c.run_id == t.runs.c.run_id,
        table.c.key == c.key,
        _compare(table.c.value, c.op, c.value),
    )


def filter_clause(expr: Expr) -> ColumnElement[bool]:
    if isinstance(expr, Comparison):
        return _comparison(expr)
    if isinstance(expr, And):
        return sa.and_(*(filter_clause(e) for e in expr.items))
    if isinstance(expr, Or):
        return sa.or_(*(filter_clause(e) for e in expr.items))
    return sa.not_(filter_clause(expr.item))


def order_clauses(
    terms: Sequence[OrderTerm],
) -> tuple[sa.FromClause, list[ColumnElement[Any]]]:
    """``runs`` outer-joined to one aliased key table per term, and the ORDER BY list.

    A missing key and a NaN metric are NULL and sort last either way. The final
    ``start_ms DESC, run_id`` makes the order total, so OFFSET pages never overlap.
    """
    source: sa.FromClause = t.runs
    clauses: list[ColumnElement[Any]] = []
    for n, term in enumerate(terms):
        if term.kind == "attribute":
            column: ColumnElement[Any] = ATTRIBUTE_COLUMNS[term.key]
            nullable = bool(ATTRIBUTE_COLUMNS[term.key].nullable)
        else:
            alias = _KEYED[term.kind].alias(f"order_{n}")
            source = source.outerjoin(
                alias, sa.and_(alias.c.run_id == t.runs.c.run_id, alias.c.key == term.key)
            )
            column, nullable = alias.c.value, True
        clause = column.asc() if term.ascending else column.desc()
        clauses.append(clause.nulls_last() if nullable else clause)
    clauses += [t.runs.c.start_ms.desc(), t.runs.c.run_id.asc()]
    return source, clauses


def build_run_query(
    experiment_ids: Sequence[str],
    filter_text: str | None,
    order_by: Sequence[str] | None,
    include_deleted: bool = False,
) -> sa.Select[Any]:
    """Runs of ``experiment_ids`` matching the filter, in order; the caller pages it."""
    expr = parse_filter(filter_text)
    source, ordering = order_clauses(parse_order_by(order_by))
    query = (
        sa.select(t.runs)
        .select_from(source)
        .where(t.runs.c.experiment_id.in_(list(experiment_ids)))
    )
    if not include_deleted:
        query = query.where(t.runs.c.lifecycle_stage == "active")
    if expr is not None:
        query = query.where(filter_clause(expr))
    return query.order_by(*ordering)
