"""The run-search filter language: text in, a typed AST out (grammar in ``docs/search.md``).

Parsing is separate from SQL so that every store (and the REST server, before it touches a
database) rejects a bad filter the same way, with a message that points at the offending token,
and so that user text reaches SQL only as bound parameter values (see ``search_sql``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

from loopml.errors import InvalidParameterError

__all__ = [
    "ATTRIBUTES",
    "NUMERIC_ATTRIBUTES",
    "And",
    "Comparison",
    "Expr",
    "Kind",
    "Not",
    "Or",
    "OrderTerm",
    "Scalar",
    "Value",
    "parse_filter",
    "parse_order_by",
]

Kind = Literal["metric", "param", "tag", "attribute"]
Scalar: TypeAlias = float | str  # an int literal is kept as int (a subtype of float for typing)
Value: TypeAlias = Scalar | tuple[Scalar, ...]

PREFIXES: dict[str, Kind] = {
    "metrics": "metric",
    "metric": "metric",
    "params": "param",
    "param": "param",
    "parameters": "param",
    "tags": "tag",
    "tag": "tag",
    "attributes": "attribute",
    "attribute": "attribute",
    "attr": "attribute",
    "run": "attribute",
}
ATTRIBUTES = (
    "run_id",
    "run_name",
    "status",
    "start_time",
    "end_time",
    "experiment_id",
    "user",
    "parent_run_id",
    "lifecycle_stage",
)
NUMERIC_ATTRIBUTES = frozenset({"start_time", "end_time"})
_NUMBER_OPS = ("=", "!=", "<", "<=", ">", ">=", "IN", "NOT IN")
# Ordering text would put '10' before '9': params and tags only get equality and patterns.
_TEXT_OPS = ("=", "!=", "LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE", "IN", "NOT IN")
_KEYWORDS = frozenset({"and", "or", "not", "in", "like", "ilike", "asc", "desc"})
_COMPARATORS = "(=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN)"
_EXAMPLE = "a condition such as metrics.loss < 0.1"


@dataclass(frozen=True)
class Comparison:
    """``<kind>.<key> <op> <value>``; ``op`` is upper case; IN lists are tuples."""

    kind: Kind
    key: str
    op: str
    value: Value


@dataclass(frozen=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    item: Expr


Expr: TypeAlias = Comparison | And | Or | Not


@dataclass(frozen=True)
class OrderTerm:
    kind: Kind
    key: str
    ascending: bool = True


# -- tokens ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Token:
    kind: str  # ident number string op ( ) , junk end
    text: str  # as typed
    pos: int
    value: str = ""  # ident: the key (or the bare word); string: the unescaped text
    prefix: str | None = None  # ident: the part before the first dot, if any


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEY = re.compile(r"[\w.\-/:]+")
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"-?\d+")
_OPS = ("<=", ">=", "!=", "=", "<", ">")


def _error(source: str, label: str, pos: int, token: str, problem: str) -> InvalidParameterError:
    """The message quotes the line of ``source`` holding ``pos`` with a caret under it."""
    start = source.rfind("\n", 0, pos) + 1
    end = source.find("\n", pos)
    line = source[start : len(source) if end < 0 else end]
    pad = "".join("\t" if c == "\t" else " " for c in line[: pos - start])
    message = f"Invalid {label} at position {pos}: {problem}\n  {line}\n  {pad}^"
    return InvalidParameterError(message, position=pos, token=token, **{label: source})


def _quoted(source: str, label: str, pos: int) -> tuple[str, int]:
    """Read a quoted run starting at ``pos``; a doubled quote stands for itself."""
    quote, i = source[pos], pos + 1
    out: list[str] = []
    while i < len(source):
        if source[i] == quote:
            if source[i + 1 : i + 2] != quote:
                return "".join(out), i + 1
            i += 1
        out.append(source[i])
        i += 1
    raise _error(source, label, pos, quote, f"the text starting here has no closing {quote}")


def _tokenize(source: str, label: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(source):
        c = source[i]
        if c.isspace():
            i += 1
            continue
        start = i
        if (word := _WORD.match(source, i)) is not None:
            i = word.end()
            if source[i : i + 1] != ".":
                tokens.append(_Token("ident", word.group(), start, word.group()))
                continue
            i += 1
            if source[i : i + 1] in ("`", '"'):
                key, i = _quoted(source, label, i)
            elif (m := _KEY.match(source, i)) is not None:
                key, i = m.group(), m.end()
            else:
                key = ""
            tokens.append(_Token("ident", source[start:i], start, key, word.group()))
        elif (num := _NUMBER.match(source, i)) is not None:
            i = num.end()
            tokens.append(_Token("number", num.group(), start))
        elif c in ("'", '"'):
            text, i = _quoted(source, label, i)
            tokens.append(_Token("string", source[start:i], start, text))
        elif c in "(),":
            i += 1
            tokens.append(_Token(c, c, start))
        elif (op := next((o for o in _OPS if source.startswith(o, i)), None)) is not None:
            i += len(op)
            tokens.append(_Token("op", op, start))
        else:
            i += 1
            tokens.append(_Token("junk", c, start))
    tokens.append(_Token("end", "", len(source)))
    return tokens


# -- parser ----------------------------------------------------------------------------------
class _Parser:
    def __init__(self, source: str, label: str) -> None:
        self.source, self.label = source, label
        self.tokens = _tokenize(source, label)
        self.i = 0

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        tok = self.tokens[self.i]
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return tok

    def fail(self, tok: _Token, problem: str) -> InvalidParameterError:
        found = f"the end of the {self.label}" if tok.kind == "end" else _show(tok)
        return _error(self.source, self.label, tok.pos, tok.text, f"{problem}, found {found}")

    def after(self) -> str:
        return f" after {_show(self.tokens[self.i - 1])}" if self.i else ""

    def at_keyword(self, *words: str) -> bool:
        tok = self.peek()
        return tok.kind == "ident" and tok.prefix is None and tok.text.lower() in words

    def identifier(self, expected: str) -> tuple[Kind, str, _Token]:
        tok = self.peek()
        if tok.kind != "ident" or (tok.prefix is None and tok.text.lower() in _KEYWORDS):
            raise self.fail(tok, f"expected {expected}{self.after()}")
        self.take()
        attrs = ", ".join(ATTRIBUTES)
        if tok.prefix is None:
            if tok.text.lower() in ATTRIBUTES:
                return "attribute", tok.text.lower(), tok
            raise _error(
                self.source,
                self.label,
                tok.pos,
                tok.text,
                f"unknown name '{tok.text}': write metrics.{tok.text}, params.{tok.text} or "
                f"tags.{tok.text}, or use an attribute ({attrs})",
            )
        kind = PREFIXES.get(tok.prefix.lower())
        if kind is None:
            raise _error(
                self.source,
                self.label,
                tok.pos,
                tok.text,
                f"unknown prefix '{tok.prefix}.': use metrics., params., tags. or attributes. "
                "(or attr., run.)",
            )
        if not tok.value:
            raise _error(
                self.source, self.label, tok.pos, tok.text, f"expected a key after '{tok.text}'"
            )
        if kind == "attribute":
            if tok.value.lower() not in ATTRIBUTES:
                raise _error(
                    self.source,
                    self.label,
                    tok.pos,
                    tok.text,
                    f"unknown attribute '{tok.value}': valid attributes are {attrs}",
                )
            return kind, tok.value.lower(), tok
        return kind, tok.value, tok

    # expr := and (OR and)* ; and := unary (AND unary)* ; unary := NOT unary | ( expr ) | cmp
    def expr(self) -> Expr:
        items = [self.conjunction()]
        while self.at_keyword("or"):
            self.take()
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def conjunction(self) -> Expr:
        items = [self.unary()]
        while self.at_keyword("and"):
            self.take()
            items.append(self.unary())
        return items[0] if len(items) == 1 else And(tuple(items))

    def unary(self) -> Expr:
        if self.at_keyword("not"):
            self.take()
            return Not(self.unary())
        if self.peek().kind == "(":
            opening = self.take()
            inner = self.expr()
            if self.peek().kind != ")":
                raise self.fail(
                    self.peek(), f"expected ')' to close the '(' at position {opening.pos}"
                )
            self.take()
            return inner
        return self.comparison()

    def comparison(self) -> Comparison:
        kind, key, ident = self.identifier(_EXAMPLE)
        numeric = kind == "metric" or (kind == "attribute" and key in NUMERIC_ATTRIBUTES)
        op_tok = self.peek()
        if op_tok.kind == "op":
            op = self.take().text
        elif self.at_keyword("like", "ilike", "in"):
            op = self.take().text.upper()
        elif self.at_keyword("not"):
            self.take()
            if not self.at_keyword("like", "ilike", "in"):
                raise self.fail(self.peek(), "expected LIKE, ILIKE or IN after 'not'")
            op = "NOT " + self.take().text.upper()
        else:
            raise self.fail(op_tok, f"expected a comparator {_COMPARATORS} after '{ident.text}'")
        allowed = _NUMBER_OPS if numeric else _TEXT_OPS
        if op not in allowed:
            what = "a number" if numeric else "text"
            raise _error(
                self.source,
                self.label,
                op_tok.pos,
                op_tok.text,
                f"'{ident.text}' is {what}; compare it with {', '.join(allowed)}",
            )
        if op.endswith("IN"):
            return Comparison(kind, key, op, self.literal_list(numeric, ident))
        value = self.literal(numeric, ident)
        if op.endswith("LIKE") and re.search(r"(?<!\\)(\\\\)*\\$", str(value)):
            raise _error(
                self.source,
                self.label,
                self.tokens[self.i - 1].pos,
                self.tokens[self.i - 1].text,
                "a LIKE pattern cannot end with a lone backslash (write \\\\ for one)",
            )
        return Comparison(kind, key, op, value)

    def literal_list(self, numeric: bool, ident: _Token) -> tuple[Scalar, ...]:
        if self.peek().kind != "(":
            raise self.fail(self.peek(), f"expected '(' to start a list{self.after()}")
        self.take()
        values = [self.literal(numeric, ident)]
        while self.peek().kind == ",":
            self.take()
            values.append(self.literal(numeric, ident))
        if self.peek().kind != ")":
            raise self.fail(self.peek(), "expected ',' or ')' in the list")
        self.take()
        return tuple(values)

    def literal(self, numeric: bool, ident: _Token) -> Scalar:
        tok = self.peek()
        if tok.kind == "number":
            self.take()
            if not numeric:  # a param written 8 means the text '8', exactly as typed
                return tok.text
            return int(tok.text) if _INTEGER.fullmatch(tok.text) else float(tok.text)
        if tok.kind == "string":
            if numeric:
                raise _error(
                    self.source,
                    self.label,
                    tok.pos,
                    tok.text,
                    f"'{ident.text}' is a number: write the value without quotes",
                )
            self.take()
            return tok.value
        raise self.fail(tok, f"expected a number or a quoted string{self.after()}")

    def finish(self) -> None:
        if self.peek().kind != "end":
            raise self.fail(self.peek(), f"expected AND, OR or the end{self.after()}")


def _show(tok: _Token) -> str:
    return tok.text if tok.kind == "string" else f"'{tok.text}'"


def parse_filter(text: str | None) -> Expr | None:
    """Parse a filter; ``None`` or blank text means "every run"."""
    if text is None or not text.strip():
        return None
    parser = _Parser(text, "filter")
    result = parser.expr()
    parser.finish()
    return result


def parse_order_by(items: Sequence[str] | None) -> list[OrderTerm]:
    """Parse ``["metrics.loss DESC", "start_time"]``; the direction defaults to ascending."""
    if isinstance(items, str):
        raise InvalidParameterError(
            f"order_by must be a list of strings, got the string {items!r}: wrap it in a list"
        )
    terms: list[OrderTerm] = []
    for item in items or ():
        parser = _Parser(item, "order_by")
        kind, key, _ = parser.identifier("a column such as metrics.loss, params.lr or start_time")
        ascending = True
        if parser.at_keyword("asc", "desc"):
            ascending = parser.take().text.lower() == "asc"
        elif parser.peek().kind != "end":
            raise parser.fail(parser.peek(), f"expected ASC, DESC or the end{parser.after()}")
        if parser.peek().kind != "end":
            raise parser.fail(parser.peek(), f"expected the end{parser.after()}")
        terms.append(OrderTerm(kind, key, ascending))
    return terms
