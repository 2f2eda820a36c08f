"""The filter language: what parses to which AST, and where each bad filter is pointed at."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loopml.errors import InvalidParameterError
from loopml.store.metadata.filter import (
    And,
    Comparison,
    Expr,
    Not,
    Or,
    OrderTerm,
    Value,
    parse_filter,
    parse_order_by,
)


def m(key: str, op: str, value: Value) -> Comparison:
    return Comparison("metric", key, op, value)


def p(key: str, op: str, value: Value) -> Comparison:
    return Comparison("param", key, op, value)


def tag(key: str, op: str, value: Value) -> Comparison:
    return Comparison("tag", key, op, value)


def a(key: str, op: str, value: Value) -> Comparison:
    return Comparison("attribute", key, op, value)


VALID: list[tuple[str, Expr]] = [
    ("metrics.loss < 0.1", m("loss", "<", 0.1)),
    ("metrics.loss<0.1", m("loss", "<", 0.1)),
    ("metric.loss >= -1.5e-3", m("loss", ">=", -1.5e-3)),
    ("metrics.loss = 2", m("loss", "=", 2)),
    ("metrics.loss != .5", m("loss", "!=", 0.5)),
    ("metrics.loss <= 1E+3", m("loss", "<=", 1000.0)),
    ("metrics.loss > -7", m("loss", ">", -7)),
    ("metrics.val/loss < 1", m("val/loss", "<", 1)),
    ("metrics.train-loss.epoch:3 < 1", m("train-loss.epoch:3", "<", 1)),
    ("metrics.`my key` = 1", m("my key", "=", 1)),
    ('metrics."my key" = 1', m("my key", "=", 1)),
    ("metrics.`a``b` = 1", m("a`b", "=", 1)),
    ("metrics.loss IN (1, 2.5, -3)", m("loss", "IN", (1, 2.5, -3))),
    ("metrics.loss not in (1)", m("loss", "NOT IN", (1,))),
    ("params.max_depth = 8", p("max_depth", "=", "8")),
    ("params.lr = 1e-3", p("lr", "=", "1e-3")),
    ("params.lr = '0.01'", p("lr", "=", "0.01")),
    ('param.model = "x\'gb"', p("model", "=", "x'gb")),
    ("parameters.model = 'it''s'", p("model", "=", "it's")),
    ("params.model != ''", p("model", "!=", "")),
    ("params.model LIKE 'x%'", p("model", "LIKE", "x%")),
    ("params.model ilike '%GB'", p("model", "ILIKE", "%GB")),
    ("params.model NOT LIKE 'a_'", p("model", "NOT LIKE", "a_")),
    ("params.model not ilike 'a'", p("model", "NOT ILIKE", "a")),
    ("params.model IN ('a', \"b\", 3)", p("model", "IN", ("a", "b", "3"))),
    ("tags.loopml.git.commit = 'abc'", tag("loopml.git.commit", "=", "abc")),
    ("tag.team = 'vision'", tag("team", "=", "vision")),
    ("tags.`with space` = 'x'", tag("with space", "=", "x")),
    ("attributes.status = 'FINISHED'", a("status", "=", "FINISHED")),
    ("status = 'FINISHED'", a("status", "=", "FINISHED")),
    ("STATUS = 'FINISHED'", a("status", "=", "FINISHED")),
    ("attr.start_time > 1700000000000", a("start_time", ">", 1700000000000)),
    ("run.end_time <= 5", a("end_time", "<=", 5)),
    ("start_time > 1.5", a("start_time", ">", 1.5)),
    ("attributes.run_id IN ('a', 'b')", a("run_id", "IN", ("a", "b"))),
    ("experiment_id = 1", a("experiment_id", "=", "1")),
    ("user = 'alice'", a("user", "=", "alice")),
    ("run_name LIKE 'run-%'", a("run_name", "LIKE", "run-%")),
    ("parent_run_id = 'p'", a("parent_run_id", "=", "p")),
    ("lifecycle_stage = 'deleted'", a("lifecycle_stage", "=", "deleted")),
    (
        "metrics.a < 1 and metrics.b < 2 AND metrics.c < 3",
        And((m("a", "<", 1), m("b", "<", 2), m("c", "<", 3))),
    ),
    (
        "metrics.a < 1 or metrics.b < 2 and metrics.c < 3",
        Or((m("a", "<", 1), And((m("b", "<", 2), m("c", "<", 3))))),
    ),
    (
        "(metrics.a < 1 OR metrics.b < 2) and metrics.c < 3",
        And((Or((m("a", "<", 1), m("b", "<", 2))), m("c", "<", 3))),
    ),
    ("not metrics.a < 1", Not(m("a", "<", 1))),
    ("NOT (metrics.a < 1 or status = 'x')", Not(Or((m("a", "<", 1), a("status", "=", "x"))))),
    ("((metrics.a < 1))", m("a", "<", 1)),
    ("  metrics.a\n<\t1  ", m("a", "<", 1)),
    # a keyword is only a keyword where it stands alone
    ("params.and = 'or'", p("and", "=", "or")),
    ("params.x LIKE 'a\\%'", p("x", "LIKE", "a\\%")),
]


@pytest.mark.parametrize(("text", "expected"), VALID, ids=[v[0] for v in VALID])
def test_valid_filters(text: str, expected: Expr) -> None:
    assert parse_filter(text) == expected


@pytest.mark.parametrize("text", [None, "", "   ", "\n"])
def test_empty_filter_is_none(text: str | None) -> None:
    assert parse_filter(text) is None


BAD: list[tuple[str, int, str, str]] = [
    # filter, position, token, part of the message
    ("metrics.loss ~ 0.1", 13, "~", "expected a comparator (=, !=, <, <=, >, >=, LIKE"),
    ("metrics.loss == 0.1", 14, "=", "expected a number or a quoted string after '='"),
    ("metrics.loss < 'a'", 15, "'a'", "is a number: write the value without quotes"),
    ("metrics.loss LIKE 'a%'", 13, "LIKE", "is a number; compare it with ="),
    ("params.lr < 0.1", 10, "<", "is text; compare it with =, !=, LIKE"),
    ("start_time LIKE '1%'", 11, "LIKE", "is a number"),
    ("start_time = '5'", 13, "'5'", "is a number"),
    ("foo.x = 1", 0, "foo.x", "unknown prefix 'foo.': use metrics., params., tags. or attributes."),
    ("attributes.colour = 'red'", 0, "attributes.colour", "valid attributes are run_id, run_name"),
    ("loss < 0.1", 0, "loss", "write metrics.loss, params.loss or tags.loss"),
    ("metrics. < 1", 0, "metrics.", "expected a key after 'metrics.'"),
    ("metrics.loss <", 14, "", "found the end of the filter"),
    ("metrics.loss < 1 and", 20, "", "expected a condition such as metrics.loss < 0.1 after 'and'"),
    ("metrics.loss < 1 or or", 20, "or", "after 'or', found 'or'"),
    ("and metrics.loss < 1", 0, "and", "expected a condition"),
    ("metrics.loss < 1)", 16, ")", "expected AND, OR or the end after '1', found ')'"),
    ("(metrics.loss < 1", 17, "", "expected ')' to close the '(' at position 0"),
    ("()", 1, ")", "expected a condition"),
    ("metrics.loss < 1 metrics.acc > 2", 17, "metrics.acc", "expected AND, OR or the end"),
    ("params.x = 'abc", 11, "'", "has no closing '"),
    ("tags.`abc = 'x'", 5, "`", "has no closing `"),
    ("metrics.loss IN 1", 16, "1", "expected '(' to start a list after 'IN'"),
    ("metrics.loss IN ()", 17, ")", "expected a number or a quoted string after '('"),
    ("metrics.loss IN (1 2)", 19, "2", "expected ',' or ')' in the list"),
    ("metrics.loss IN (1, 'a')", 20, "'a'", "is a number"),
    ("metrics.loss NOT = 1", 17, "=", "expected LIKE, ILIKE or IN after 'not'"),
    ("params.x LIKE 'a\\'", 14, "'a\\'", "cannot end with a lone backslash"),
    ("params.x = 'a' $", 15, "$", "found '$'"),
    ("not", 3, "", "expected a condition such as metrics.loss < 0.1 after 'not'"),
]


@pytest.mark.parametrize(("text", "position", "token", "fragment"), BAD, ids=[b[0] for b in BAD])
def test_bad_filters_point_at_the_token(
    text: str, position: int, token: str, fragment: str
) -> None:
    with pytest.raises(InvalidParameterError) as info:
        parse_filter(text)
    err = info.value
    assert err.code == "INVALID_PARAMETER"
    assert err.details["position"] == position
    assert err.details["token"] == token
    assert err.details["filter"] == text
    headline, quoted, caret = err.message.split("\n")
    assert headline.startswith(f"Invalid filter at position {position}: ")
    assert fragment in headline
    assert quoted == "  " + text
    assert caret == " " * (2 + position) + "^"


def test_caret_points_into_the_right_line_of_a_multiline_filter() -> None:
    text = "metrics.loss < 1\n  and\tparams.x ? 'a'"
    with pytest.raises(InvalidParameterError) as info:
        parse_filter(text)
    assert info.value.details["position"] == text.index("?")
    _, quoted, caret = info.value.message.split("\n")
    assert quoted == "    and\tparams.x ? 'a'"
    assert caret == "    " + "   \t" + " " * 9 + "^"


def test_the_example_message_of_the_docs() -> None:
    with pytest.raises(InvalidParameterError) as info:
        parse_filter("metrics.loss ~ 0.1")
    assert info.value.message == (
        "Invalid filter at position 13: expected a comparator "
        "(=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN) after 'metrics.loss', found '~'\n"
        "  metrics.loss ~ 0.1\n"
        "               ^"
    )


finite = st.floats(allow_nan=False, allow_infinity=False)


@given(finite)
def test_float_literals_round_trip(value: float) -> None:
    parsed = parse_filter(f"metrics.x = {value!r}")
    assert isinstance(parsed, Comparison)
    assert repr(parsed.value) == repr(value)  # same value, same sign of zero


@given(st.integers(min_value=-(10**30), max_value=10**30))
def test_integer_literals_round_trip(value: int) -> None:
    assert parse_filter(f"metrics.x = {value}") == m("x", "=", value)
    assert parse_filter(f"params.x = {value}") == p("x", "=", str(value))


@given(st.text(), st.sampled_from(["'", '"']))
def test_string_literals_round_trip(value: str, quote: str) -> None:
    literal = quote + value.replace(quote, quote * 2) + quote
    assert parse_filter(f"tags.t != {literal}") == tag("t", "!=", value)


@given(st.text(min_size=1), st.sampled_from(["`", '"']))
def test_quoted_keys_round_trip(key: str, quote: str) -> None:
    text = f"params.{quote}{key.replace(quote, quote * 2)}{quote} = 'v'"
    assert parse_filter(text) == p(key, "=", "v")


@given(st.text(max_size=40))
def test_any_text_parses_or_raises_invalid_parameter(text: str) -> None:
    try:
        parse_filter(text)
    except InvalidParameterError as err:
        assert 0 <= err.details["position"] <= len(text)


ORDER_VALID: list[tuple[str, OrderTerm]] = [
    ("metrics.loss", OrderTerm("metric", "loss", True)),
    ("metrics.loss ASC", OrderTerm("metric", "loss", True)),
    ("metrics.loss desc", OrderTerm("metric", "loss", False)),
    ("metrics.`my key` DESC", OrderTerm("metric", "my key", False)),
    ("params.lr", OrderTerm("param", "lr", True)),
    ("tags.loopml.git.commit DESC", OrderTerm("tag", "loopml.git.commit", False)),
    ("attributes.start_time DESC", OrderTerm("attribute", "start_time", False)),
    ("start_time", OrderTerm("attribute", "start_time", True)),
    ("  run_name   Asc ", OrderTerm("attribute", "run_name", True)),
]


@pytest.mark.parametrize(("text", "expected"), ORDER_VALID, ids=[o[0] for o in ORDER_VALID])
def test_valid_order_by(text: str, expected: OrderTerm) -> None:
    assert parse_order_by([text]) == [expected]


def test_order_by_keeps_the_order_of_terms() -> None:
    assert parse_order_by(["metrics.a DESC", "params.b"]) == [
        OrderTerm("metric", "a", False),
        OrderTerm("param", "b", True),
    ]
    assert parse_order_by(None) == []
    assert parse_order_by([]) == []


ORDER_BAD: list[tuple[str, int, str]] = [
    ("", 0, ""),
    ("metrics.loss DOWN", 13, "DOWN"),
    ("metrics.loss ASC DESC", 17, "DESC"),
    ("foo.bar", 0, "foo.bar"),
    ("attributes.colour", 0, "attributes.colour"),
    ("loss", 0, "loss"),
    ("metrics.loss, params.lr", 12, ","),
    ("DESC", 0, "DESC"),
]


@pytest.mark.parametrize(("text", "position", "token"), ORDER_BAD, ids=[o[0] for o in ORDER_BAD])
def test_bad_order_by(text: str, position: int, token: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        parse_order_by([text])
    assert info.value.details == {"position": position, "token": token, "order_by": text}
    assert info.value.message.startswith(f"Invalid order_by at position {position}: ")


def test_order_by_must_be_a_list() -> None:
    with pytest.raises(InvalidParameterError, match="wrap it in a list"):
        parse_order_by("metrics.loss")
