"""The run filter language, applied to registered models: ``name LIKE 'churn%'``,
``tags.team = 'growth'``, ``owner = 'ana'``.

The grammar and its error messages are those of ``filter`` (one language for runs and models);
only the names a condition may use differ, so this module swaps the parser's identifier rule
and translates the AST with the same comparison builder as run search. User text reaches SQL
only as bound parameters.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from loopml.store.metadata.filter import And, Comparison, Expr, Kind, Or, _error, _Parser, _Token
from loopml.store.metadata.schema_registry import registered_model_tags, registered_models
from loopml.store.metadata.search_sql import _compare

__all__ = ["MODEL_ATTRIBUTES", "model_filter_clause", "parse_model_filter"]

MODEL_ATTRIBUTES: dict[str, sa.Column[Any]] = {
    "name": registered_models.c.name,
    "description": registered_models.c.description,
    "owner": registered_models.c.owner,
}
_TAG_PREFIXES = ("tags", "tag")
_KEYWORDS = frozenset({"and", "or", "not", "in", "like", "ilike"})


class _ModelParser(_Parser):
    def identifier(self, expected: str) -> tuple[Kind, str, _Token]:
        tok = self.peek()
        if tok.kind != "ident" or (tok.prefix is None and tok.text.lower() in _KEYWORDS):
            raise self.fail(tok, f"expected {expected}{self.after()}")
        self.take()
        names = ", ".join(MODEL_ATTRIBUTES)
        if tok.prefix is None and tok.text.lower() in MODEL_ATTRIBUTES:
            return "attribute", tok.text.lower(), tok
        if tok.prefix is not None and tok.prefix.lower() in _TAG_PREFIXES and tok.value:
            return "tag", tok.value, tok
        raise _error(
            self.source,
            self.label,
            tok.pos,
            tok.text,
            f"unknown name '{tok.text}': a model filter uses {names} or tags.<key>",
        )


def parse_model_filter(text: str | None) -> Expr | None:
    """Parse a model filter; ``None`` or blank text means "every model"."""
    if text is None or not text.strip():
        return None
    parser = _ModelParser(text, "filter")
    result = parser.expr()
    parser.finish()
    return result


def model_filter_clause(expr: Expr) -> ColumnElement[bool]:
    if isinstance(expr, Comparison):
        if expr.kind == "attribute":
            column = MODEL_ATTRIBUTES[expr.key]
            cond = _compare(column, expr.op, expr.value)
            return sa.and_(column.is_not(None), cond) if column.nullable else cond
        tags = registered_model_tags
        return sa.exists().where(
            tags.c.name == registered_models.c.name,
            tags.c.key == expr.key,
            _compare(tags.c.value, expr.op, expr.value),
        )
    if isinstance(expr, And):
        return sa.and_(*(model_filter_clause(e) for e in expr.items))
    if isinstance(expr, Or):
        return sa.or_(*(model_filter_clause(e) for e in expr.items))
    return sa.not_(model_filter_clause(expr.item))
