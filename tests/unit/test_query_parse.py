"""revkv.query._parse: OData 2 $filter and $orderby text to the tree of revkv.query._ast."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

import revkv.query
from revkv.errors import QuerySyntaxError
from revkv.query import (
    Binary,
    BinaryOp,
    Call,
    EdmType,
    Function,
    Literal,
    Node,
    OrderBy,
    Property,
    Unary,
    UnaryOp,
    parse_filter,
    parse_orderby,
    walk,
)
from revkv.query._ast import FUNCTION_ARITY
from revkv.query._parse import MAX_CALLS, MAX_DEPTH, MAX_LENGTH, MAX_TERMS

UTC = dt.UTC


def p(name: str) -> Property:
    return Property(name)


def s(value: str) -> Literal:
    return Literal(value, EdmType.STRING)


def i(value: int) -> Literal:
    return Literal(value, EdmType.INT32)


def b(op: str, left: Node, right: Node) -> Binary:
    return Binary(BinaryOp(op), left, right)


def call(name: str, *args: Node) -> Call:
    return Call(Function(name), args)


def test_exports_are_sorted_and_complete() -> None:
    assert revkv.query.__all__ == sorted(revkv.query.__all__)
    public = {name for name in vars(revkv.query) if not name.startswith("_")}
    modules = {"annotations", "ast", "closures", "evaluate", "functions", "lex", "literals"}
    modules |= {"order", "parse", "values"}
    assert public - modules == set(revkv.query.__all__)


# -- literals --------------------------------------------------------------------------

LITERALS = [
    ("null", None, None),
    ("true", True, EdmType.BOOLEAN),
    ("false", False, EdmType.BOOLEAN),
    ("'abc'", "abc", EdmType.STRING),
    ("''", "", EdmType.STRING),
    ("'it''s'", "it's", EdmType.STRING),
    ("''''", "'", EdmType.STRING),
    ("'ünï cödé'", "ünï cödé", EdmType.STRING),
    ("'a eq b'", "a eq b", EdmType.STRING),
    ("0", 0, EdmType.INT32),
    ("42", 42, EdmType.INT32),
    ("-42", -42, EdmType.INT32),
    ("2147483647", 2147483647, EdmType.INT32),
    ("-2147483648", -2147483648, EdmType.INT32),
    ("2147483648", 2147483648, EdmType.INT64),
    ("-2147483649", -2147483649, EdmType.INT64),
    ("9223372036854775808", Decimal("9223372036854775808"), EdmType.DECIMAL),
    ("12L", 12, EdmType.INT64),
    ("-12l", -12, EdmType.INT64),
    ("9223372036854775807L", 2**63 - 1, EdmType.INT64),
    ("1.5", 1.5, EdmType.DOUBLE),
    ("-0.25", -0.25, EdmType.DOUBLE),
    ("1e3", 1000.0, EdmType.DOUBLE),
    ("1.5E-2", 0.015, EdmType.DOUBLE),
    ("2E+2", 200.0, EdmType.DOUBLE),
    ("1.5D", 1.5, EdmType.DOUBLE),
    ("1.5d", 1.5, EdmType.DOUBLE),
    ("3D", 3.0, EdmType.DOUBLE),
    ("1.5F", 1.5, EdmType.SINGLE),
    ("2f", 2.0, EdmType.SINGLE),
    ("1.5M", Decimal("1.5"), EdmType.DECIMAL),
    ("1.50m", Decimal("1.50"), EdmType.DECIMAL),
    ("-3M", Decimal(-3), EdmType.DECIMAL),
    ("1e2M", Decimal("1e2"), EdmType.DECIMAL),
    ("INF", float("inf"), EdmType.DOUBLE),
    ("-INF", float("-inf"), EdmType.DOUBLE),
    ("INFD", float("inf"), EdmType.DOUBLE),
    ("INFf", float("inf"), EdmType.SINGLE),
    (
        "datetime'2026-01-01T00:00:00'",
        dt.datetime(2026, 1, 1, tzinfo=UTC),
        EdmType.DATETIME,
    ),
    ("datetime'2026-01-02T03:04'", dt.datetime(2026, 1, 2, 3, 4, tzinfo=UTC), EdmType.DATETIME),
    (
        "datetime'2026-01-02T03:04:05.5'",
        dt.datetime(2026, 1, 2, 3, 4, 5, 500000, tzinfo=UTC),
        EdmType.DATETIME,
    ),
    (
        "datetime'2026-01-02T03:04:05.1234567'",
        dt.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC),
        EdmType.DATETIME,
    ),
    (
        "datetime'2026-01-02T03:04:05Z'",
        dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        EdmType.DATETIME,
    ),
    (
        "datetimeoffset'2026-01-02T03:04:05+01:30'",
        dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=1, minutes=30))),
        EdmType.DATETIMEOFFSET,
    ),
    (
        "datetimeoffset'2026-01-02T03:04:05.25-05:00'",
        dt.datetime(2026, 1, 2, 3, 4, 5, 250000, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
        EdmType.DATETIMEOFFSET,
    ),
    (
        "datetimeoffset'2026-01-02T03:04:05Z'",
        dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        EdmType.DATETIMEOFFSET,
    ),
    ("time'PT1H'", dt.timedelta(hours=1), EdmType.TIME),
    ("time'PT13H20M5.5S'", dt.timedelta(hours=13, minutes=20, seconds=5.5), EdmType.TIME),
    ("time'P1DT2H'", dt.timedelta(days=1, hours=2), EdmType.TIME),
    ("time'-PT30M'", dt.timedelta(minutes=-30), EdmType.TIME),
    ("time'13:20:00'", dt.timedelta(hours=13, minutes=20), EdmType.TIME),
    ("time'07:45'", dt.timedelta(hours=7, minutes=45), EdmType.TIME),
    (
        "guid'12345678-aBcD-1234-5678-123456789abc'",
        uuid.UUID("12345678-abcd-1234-5678-123456789abc"),
        EdmType.GUID,
    ),
    ("X'0AFF'", b"\x0a\xff", EdmType.BINARY),
    ("X''", b"", EdmType.BINARY),
    ("binary'00ff10'", b"\x00\xff\x10", EdmType.BINARY),
]


@pytest.mark.parametrize(("text", "value", "edm_type"), LITERALS)
def test_literal(text: str, value: object, edm_type: EdmType | None) -> None:
    node = parse_filter(f"  {text} ")
    assert isinstance(node, Literal)
    assert node.edm_type is edm_type
    assert node.value == value
    assert type(node.value) is type(value)
    assert node.position == 2


def test_nan_literal() -> None:
    node = parse_filter("NaN")
    assert isinstance(node, Literal)
    assert node.edm_type is EdmType.DOUBLE
    assert isinstance(node.value, float)
    assert node.value != node.value


def test_datetime_literals_are_aware_utc() -> None:
    node = parse_filter("datetime'2026-06-01T12:00:00'")
    assert isinstance(node, Literal)
    assert isinstance(node.value, dt.datetime)
    assert node.value.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Key", "Key"),
        ("_private", "_private"),
        ("a1", "a1"),
        ("Über", "Über"),
        ("Address/City", "Address/City"),
        ("a/b/c", "a/b/c"),
        ("nullable", "nullable"),
        ("trueish", "trueish"),
        ("notes", "notes"),
        ("EQ", "EQ"),
        ("True", "True"),
        ("INFINITY", "INFINITY"),
        ("INFM", "INFM"),
        ("NaNL", "NaNL"),
        ("desc", "desc"),
    ],
)
def test_property(text: str, name: str) -> None:
    assert parse_filter(text) == Property(name)


def test_property_path() -> None:
    node = parse_filter("Address/City")
    assert isinstance(node, Property)
    assert node.path == ("Address", "City")


# -- operators and precedence -----------------------------------------------------------


@pytest.mark.parametrize("op", [op.value for op in BinaryOp])
def test_every_binary_operator(op: str) -> None:
    assert parse_filter(f"a {op} b") == b(op, p("a"), p("b"))


def test_unary_operators() -> None:
    assert parse_filter("not a") == Unary(UnaryOp.NOT, p("a"))
    assert parse_filter("not(a)") == Unary(UnaryOp.NOT, p("a"))
    assert parse_filter("-a") == Unary(UnaryOp.NEG, p("a"))
    assert parse_filter("- 5") == Unary(UnaryOp.NEG, i(5))
    assert parse_filter("--5") == Unary(UnaryOp.NEG, i(-5))
    assert parse_filter("not not a") == Unary(UnaryOp.NOT, Unary(UnaryOp.NOT, p("a")))


PRECEDENCE = [
    # not binds tighter than any comparison (MS-ODATA; Pyslet and WCF agree)
    (
        "not a eq b and c or d",
        b("or", b("and", b("eq", Unary(UnaryOp.NOT, p("a")), p("b")), p("c")), p("d")),
    ),
    ("not (a eq b)", Unary(UnaryOp.NOT, b("eq", p("a"), p("b")))),
    ("a or b and c", b("or", p("a"), b("and", p("b"), p("c")))),
    ("a and b or c and d", b("or", b("and", p("a"), p("b")), b("and", p("c"), p("d")))),
    ("(a or b) and c", b("and", b("or", p("a"), p("b")), p("c"))),
    ("a eq b and c ne d", b("and", b("eq", p("a"), p("b")), b("ne", p("c"), p("d")))),
    # relational binds tighter than equality
    ("a lt b eq c gt d", b("eq", b("lt", p("a"), p("b")), b("gt", p("c"), p("d")))),
    ("a eq b lt c", b("eq", p("a"), b("lt", p("b"), p("c")))),
    ("a add b lt c", b("lt", b("add", p("a"), p("b")), p("c"))),
    ("a add b mul c", b("add", p("a"), b("mul", p("b"), p("c")))),
    ("a mul b add c", b("add", b("mul", p("a"), p("b")), p("c"))),
    ("a sub b sub c", b("sub", b("sub", p("a"), p("b")), p("c"))),
    ("a div b mod c", b("mod", b("div", p("a"), p("b")), p("c"))),
    ("a sub (b sub c)", b("sub", p("a"), b("sub", p("b"), p("c")))),
    ("-a add b", b("add", Unary(UnaryOp.NEG, p("a")), p("b"))),
    ("-(a add b)", Unary(UnaryOp.NEG, b("add", p("a"), p("b")))),
    ("a eq b eq c", b("eq", b("eq", p("a"), p("b")), p("c"))),
    ("a or b or c", b("or", b("or", p("a"), p("b")), p("c"))),
    ("((a))", p("a")),
    ("a sub -1", b("sub", p("a"), i(-1))),
    (
        "length(Key) add 1 gt 2 mul 3",
        b("gt", b("add", call("length", p("Key")), i(1)), b("mul", i(2), i(3))),
    ),
    ("not startswith(Key, 'a')", Unary(UnaryOp.NOT, call("startswith", p("Key"), s("a")))),
]


@pytest.mark.parametrize(("text", "tree"), PRECEDENCE)
def test_precedence(text: str, tree: Node) -> None:
    assert parse_filter(text) == tree


@pytest.mark.parametrize(
    "text",
    [
        "a eq 1",
        "  a   eq   1  ",
        "a\teq\t1",
        "(a eq 1)",
        "( a eq 1 )",
    ],
)
def test_whitespace(text: str) -> None:
    assert parse_filter(text) == b("eq", p("a"), i(1))


# -- functions --------------------------------------------------------------------------


def _arguments(function: Function, count: int) -> list[str]:
    args = [f"a{n}" for n in range(count)]
    if function in (Function.ISOF, Function.CAST):
        args[-1] = "'Edm.Int32'"
    return args


@pytest.mark.parametrize("function", list(Function))
def test_every_function_with_each_arity(function: Function) -> None:
    fewest, most = FUNCTION_ARITY[function]
    for count in range(fewest, most + 1):
        args = _arguments(function, count)
        node = parse_filter(f"{function.value}({', '.join(args)})")
        assert isinstance(node, Call)
        assert node.function is function
        assert len(node.args) == count
        assert node.args[0] == (
            s("Edm.Int32") if count == 1 and function in (Function.ISOF, Function.CAST) else p("a0")
        )


def test_function_arguments_are_expressions() -> None:
    assert parse_filter("substringof('x', concat(a, 'y'))") == call(
        "substringof", s("x"), call("concat", p("a"), s("y"))
    )
    assert parse_filter("substring(Key, 1 add 1)") == call(
        "substring", p("Key"), b("add", i(1), i(1))
    )
    assert parse_filter("length (Key)") == call("length", p("Key"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("length(a, b)", "function 'length' takes 1 argument, got 2"),
        ("length()", "function 'length' takes 1 argument, got 0"),
        ("substring(a)", "function 'substring' takes 2 or 3 arguments, got 1"),
        ("replace(a, b)", "function 'replace' takes 3 arguments, got 2"),
        ("startswith(a, b, c, d)", "function 'startswith' takes 2 arguments, got 4"),
    ],
)
def test_arity_errors(text: str, message: str) -> None:
    with pytest.raises(QuerySyntaxError, match=message):
        parse_filter(text)


# -- $orderby ---------------------------------------------------------------------------


def test_orderby() -> None:
    assert parse_orderby("Key") == [OrderBy(p("Key"))]
    assert parse_orderby("Key desc") == [OrderBy(p("Key"), descending=True)]
    assert parse_orderby("Expires desc, Key asc,Value") == [
        OrderBy(p("Expires"), True),
        OrderBy(p("Key"), False),
        OrderBy(p("Value"), False),
    ]
    assert parse_orderby("length(Key) desc") == [OrderBy(call("length", p("Key")), True)]
    assert parse_orderby("desc desc") == [OrderBy(p("desc"), True)]
    items = parse_orderby("a,  b desc")
    assert [item.position for item in items] == [0, 4]


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("", "expected an expression, got end of input", 0),
        ("Key desc desc", "expected ',' or 'asc' or 'desc' or the end", 9),
        ("Key,", "expected an expression, got end of input", 4),
        ("Key DESC", "expected ',' or 'asc' or 'desc' or the end of the expression, got 'DESC'", 4),
    ],
)
def test_orderby_errors(text: str, message: str, position: int) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_orderby(text)
    assert message in caught.value.message
    assert caught.value.position == position


# -- positions and errors ---------------------------------------------------------------


def test_positions() -> None:
    text = "Expires lt datetime'2026-01-01T00:00:00' and startswith(Key,'1')"
    node = parse_filter(text)
    positions = {
        type(n).__name__ + ":" + str(getattr(n, "name", getattr(n, "op", ""))): n.position
        for n in walk(node)
    }
    assert node.position == text.index("and")
    assert positions["Property:Expires"] == 0
    assert positions["Binary:lt"] == 8
    assert positions["Property:Key"] == text.index("Key")
    call_node = node.right
    assert isinstance(call_node, Call)
    assert call_node.position == text.index("startswith")
    assert call_node.args[1].position == text.index("'1'")
    assert Unary(UnaryOp.NOT, p("a"), position=0) == parse_filter("   not a")
    assert parse_filter("   not a").position == 3


ERRORS = [
    ("", "expected an expression, got end of input", 0),
    ("   ", "expected an expression, got end of input", 3),
    ("a eq", "expected an expression, got end of input", 4),
    ("eq a", "expected an expression before operator 'eq'", 0),
    ("a eq eq b", "expected an expression before operator 'eq'", 5),
    ("(a eq 1", "expected ')' or an operator, got end of input", 7),
    ("(a eq 1 b", "expected ')' or an operator, got 'b'", 8),
    ("a eq 1)", "unmatched ')'", 6),
    ("a eq 1 b", "expected an operator or the end of the expression, got 'b'", 7),
    ("a eq 1 'x'", "expected an operator or the end of the expression, got \"'x'\"", 7),
    ("Key EQ 'a'", "got 'EQ' (operators are lowercase: 'eq')", 4),
    ("a eq 1 AND b", "got 'AND' (operators are lowercase: 'and')", 7),
    ("foo(1)", "unknown function 'foo'", 0),
    ("a eq StartsWith(a, 'b')", "unknown function 'StartsWith' (function names are lowercase", 5),
    ("'abc", "unterminated string literal", 0),
    ("a eq 'it''s", "unterminated string literal", 5),
    ("a eq datetime'2026-01-01", "unterminated datetime literal", 5),
    ("a eq datetime'2026-13-01T00:00'", "invalid date/time '2026-13-01T00:00'", 5),
    ("a eq datetime'2026-01-01'", "expected yyyy-mm-ddThh:mm", 5),
    ("datetime'2026-01-01T00:00+01:00'", "use datetimeoffset", 0),
    ("datetimeoffset'2026-01-01T00:00'", "needs an offset", 0),
    ("datetimeoffset'2026-01-01T00:00+15:00'", "invalid time zone offset", 0),
    ("time'PT'", "invalid time 'PT'", 0),
    ("time'25:00'", "invalid time", 0),
    ("guid'1234'", "invalid guid '1234'", 0),
    ("X'0AF'", "invalid binary '0AF'", 0),
    ("X'GG'", "invalid binary", 0),
    ("x'00'", "unknown literal type 'x'", 0),
    ("a eq'x'", "unknown literal type 'eq'", 2),
    ("DateTime'2026-01-01T00:00'", "unknown literal type 'DateTime'", 0),
    ("1.5L", "must be a whole number", 0),
    ("99999999999999999999L", "out of range for Edm.Int64", 0),
    ("a eq 12abc", "invalid number '12abc'", 5),
    ("a eq 1.", "invalid number '1.'", 5),
    ("a eq 1.2.3", "invalid number '1.2.'", 5),
    ("a eq #", "unexpected character '#'", 5),
    ("a eq .5", "unexpected character '.'", 5),
    ("a/", "expected a property name after '/'", 2),
    ("a/1", "expected a property name after '/'", 2),
    ("/a", "unexpected character '/'", 0),
    ("a eq 1,", "expected an operator or the end of the expression, got ','", 6),
    ("startswith(a b)", "expected ')' or ',', got 'b'", 13),
    ("startswith(a,)", "expected an expression, got ')'", 13),
    ("length(a, b)", "takes 1 argument, got 2", 10),
    ("length(a, b eq c)", "takes 1 argument, got 2", 10),
    ("length()", "takes 1 argument, got 0", 7),
    ("substring(a)", "takes 2 or 3 arguments, got 1", 11),
    ("isof(a, 'Int32')", "must name a primitive type", 8),
    ("cast(a, b)", "must name a primitive type", 8),
    ("isof(a, 1)", "must name a primitive type", 8),
    ("-", "expected an expression, got end of input", 1),
    ("not", "expected an expression, got end of input", 3),
    ("a eq ()", "expected an expression, got ')'", 6),
]


@pytest.mark.parametrize(("text", "message", "position"), ERRORS)
def test_errors(text: str, message: str, position: int) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_filter(text)
    assert message in caught.value.message
    assert caught.value.position == position
    assert caught.value.expression == text
    assert f"at position {position}" in str(caught.value)


def test_nesting_is_limited() -> None:
    parse_filter("(" * (MAX_DEPTH - 1) + "a" + ")" * (MAX_DEPTH - 1))
    with pytest.raises(QuerySyntaxError, match="nested more than"):
        parse_filter("(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1))
    with pytest.raises(QuerySyntaxError, match="nested more than"):
        parse_filter("not " * (MAX_DEPTH + 1) + "a")
    with pytest.raises(QuerySyntaxError, match="nested more than"):
        parse_filter(" add ".join(["1"] * (MAX_DEPTH + 2)))


def test_long_or_lists_parse_up_to_the_term_limit() -> None:
    """A chain of `or` is as deep as it is long: it parses (no recursion) up to MAX_TERMS."""
    text = " or ".join(f"Key eq '{n}'" for n in range(MAX_TERMS // 2))
    node = parse_filter(text)
    assert sum(1 for n in walk(node) if isinstance(n, Literal)) == MAX_TERMS // 2


def test_terms_are_limited() -> None:
    """One expression's cost per key is bounded: more operands are refused, naming the limit."""
    text = " or ".join(f"K eq {n}" for n in range(MAX_TERMS // 2 + 1))
    assert len(text) <= MAX_LENGTH
    with pytest.raises(QuerySyntaxError, match=f"more than {MAX_TERMS:,} terms") as caught:
        parse_filter(text)
    assert caught.value.position == text.rindex("K eq")  # the first term over the limit
    with pytest.raises(QuerySyntaxError, match="terms"):
        parse_orderby(",".join(["K"] * (MAX_TERMS + 1)))


def test_function_calls_are_limited() -> None:
    allowed = " or ".join(["substringof('x',K)"] * MAX_CALLS)
    parse_filter(allowed)
    with pytest.raises(QuerySyntaxError, match=f"more than {MAX_CALLS} function calls"):
        parse_filter(allowed + " or length(K) eq 1")
    with pytest.raises(QuerySyntaxError, match="function calls"):
        parse_filter("tolower(" * (MAX_CALLS + 1) + "K" + ")" * (MAX_CALLS + 1))


def test_length_is_limited_without_echoing_the_text() -> None:
    parse_filter("K eq '" + "x" * (MAX_LENGTH - 8) + "'")
    text = "K eq '" + "x" * (MAX_LENGTH - 6) + "'"
    assert len(text) == MAX_LENGTH + 1
    with pytest.raises(QuerySyntaxError, match=f"over the limit of {MAX_LENGTH:,}") as caught:
        parse_filter(text)
    assert len(str(caught.value)) < 200
    with pytest.raises(QuerySyntaxError, match="over the limit"):
        parse_orderby("K," * MAX_LENGTH)


def test_tree_is_immutable_and_hashable() -> None:
    node = parse_filter("a eq 1 and startswith(b, 'x')")
    with pytest.raises(AttributeError):
        node.position = 3  # type: ignore[misc]
    assert hash(node) == hash(parse_filter("a  eq 1   and startswith(b,'x')"))
    assert not hasattr(node, "__dict__")


# -- round trip: random trees printed as text parse back to the same tree ------------------

_PRECEDENCE = {
    BinaryOp.OR: 1,
    BinaryOp.AND: 2,
    BinaryOp.EQ: 3,
    BinaryOp.NE: 3,
    BinaryOp.LT: 4,
    BinaryOp.LE: 4,
    BinaryOp.GT: 4,
    BinaryOp.GE: 4,
    BinaryOp.ADD: 5,
    BinaryOp.SUB: 5,
    BinaryOp.MUL: 6,
    BinaryOp.DIV: 6,
    BinaryOp.MOD: 6,
}
_UNARY = 7
_ATOM = 8


def _print_float(value: float, suffix: str) -> str:
    if value == float("inf"):
        return "INF" + suffix
    if value == float("-inf"):
        return "-INF" + suffix
    return repr(value) + suffix


def _print_offset(value: dt.datetime) -> str:
    offset = value.utcoffset()
    assert offset is not None
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _print_moment(value: dt.datetime) -> str:
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}T"
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}"
    )


def _print_duration(value: dt.timedelta) -> str:
    sign = "-" if value < dt.timedelta(0) else ""
    value = abs(value)
    hours, rest = divmod(value.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}P{value.days}DT{hours}H{minutes}M{seconds}.{value.microseconds:06d}S"


def print_literal(node: Literal) -> str:
    """The test-only printer's literals: always the suffixed form, so the type survives."""
    value = node.value
    match node.edm_type:
        case None:
            return "null"
        case EdmType.BOOLEAN:
            return "true" if value else "false"
        case EdmType.STRING:
            assert isinstance(value, str)
            return "'" + value.replace("'", "''") + "'"
        case EdmType.INT32:
            return str(value)
        case EdmType.INT64:
            return f"{value}L"
        case EdmType.DECIMAL:
            return f"{value}M"
        case EdmType.DOUBLE:
            assert isinstance(value, float)
            return _print_float(value, "D")
        case EdmType.SINGLE:
            assert isinstance(value, float)
            return _print_float(value, "F")
        case EdmType.DATETIME:
            assert isinstance(value, dt.datetime)
            return f"datetime'{_print_moment(value)}'"
        case EdmType.DATETIMEOFFSET:
            assert isinstance(value, dt.datetime)
            return f"datetimeoffset'{_print_moment(value)}{_print_offset(value)}'"
        case EdmType.TIME:
            assert isinstance(value, dt.timedelta)
            return f"time'{_print_duration(value)}'"
        case EdmType.GUID:
            return f"guid'{value}'"
        case EdmType.BINARY:
            assert isinstance(value, bytes)
            return f"X'{value.hex().upper()}'"
    raise AssertionError(node)


def to_text(node: Node) -> str:
    """Minimal parentheses from the precedence table, so precedence is tested too."""
    return _print(node)[0]


def _print(node: Node) -> tuple[str, int]:
    match node:
        case Literal():
            return print_literal(node), _ATOM
        case Property(name=name):
            return name, _ATOM
        case Call(function=function, args=args):
            return f"{function.value}({', '.join(to_text(arg) for arg in args)})", _ATOM
        case Unary(op=op, operand=operand):
            inner = _wrap(operand, _UNARY)
            return (f"not {inner}" if op is UnaryOp.NOT else f"- {inner}"), _UNARY
        case Binary(op=op, left=left, right=right):
            power = _PRECEDENCE[op]
            return f"{_wrap(left, power)} {op.value} {_wrap(right, power + 1)}", power
    raise AssertionError(node)


def _wrap(node: Node, needed: int) -> str:
    text, power = _print(node)
    return text if power >= needed else f"({text})"


_literals = st.one_of(
    st.just(Literal(None, None)),
    st.booleans().map(lambda v: Literal(v, EdmType.BOOLEAN)),
    st.text(max_size=8).map(lambda v: Literal(v, EdmType.STRING)),
    st.integers(-(2**31), 2**31 - 1).map(lambda v: Literal(v, EdmType.INT32)),
    st.integers(-(2**63), 2**63 - 1).map(lambda v: Literal(v, EdmType.INT64)),
    st.decimals(allow_nan=False, allow_infinity=False).map(lambda v: Literal(v, EdmType.DECIMAL)),
    st.floats(allow_nan=False).map(lambda v: Literal(v, EdmType.DOUBLE)),
    st.floats(allow_nan=False, width=32).map(lambda v: Literal(v, EdmType.SINGLE)),
    st.datetimes(timezones=st.just(UTC)).map(lambda v: Literal(v, EdmType.DATETIME)),
    st.datetimes(
        timezones=st.integers(-14 * 60, 14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
    ).map(lambda v: Literal(v, EdmType.DATETIMEOFFSET)),
    st.timedeltas(min_value=dt.timedelta(days=-9999), max_value=dt.timedelta(days=9999)).map(
        lambda v: Literal(v, EdmType.TIME)
    ),
    st.uuids().map(lambda v: Literal(v, EdmType.GUID)),
    st.binary(max_size=6).map(lambda v: Literal(v, EdmType.BINARY)),
)
_properties = st.sampled_from(["Key", "Value", "Expires", "a", "b_2", "Address/City", "Über"]).map(
    Property
)
_type_names = st.sampled_from([t.value for t in EdmType]).map(lambda v: Literal(v, EdmType.STRING))


def _calls(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    def build(function: Function, draw_args: st.DataObject) -> Node:
        fewest, most = FUNCTION_ARITY[function]
        if function in (Function.ISOF, Function.CAST):
            args = [draw_args.draw(children), draw_args.draw(_type_names)]
        else:
            count = draw_args.draw(st.integers(fewest, most))
            args = [draw_args.draw(children) for _ in range(count)]
        return Call(function, tuple(args))

    return st.builds(build, st.sampled_from(list(Function)), st.data())


def _trees(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    return st.one_of(
        st.builds(Unary, st.sampled_from(list(UnaryOp)), children),
        st.builds(Binary, st.sampled_from(list(BinaryOp)), children, children),
        _calls(children),
    )


trees: st.SearchStrategy[Node] = st.recursive(
    st.one_of(_literals, _properties), _trees, max_leaves=12
)


@given(trees)
def test_printed_trees_parse_back(tree: Node) -> None:
    text = to_text(tree)
    assert parse_filter(text) == tree, text


@given(st.lists(st.tuples(trees, st.booleans()), min_size=1, max_size=3))
def test_printed_orderby_parses_back(items: list[tuple[Node, bool]]) -> None:
    text = ", ".join(f"{to_text(tree)} {'desc' if desc else 'asc'}" for tree, desc in items)
    assert parse_orderby(text) == [OrderBy(tree, desc) for tree, desc in items]


@given(trees)
def test_positions_point_at_their_token(tree: Node) -> None:
    text = to_text(tree)
    for node in walk(parse_filter(text)):
        match node:
            case Property(name=name):
                assert text.startswith(name, node.position)
            case Binary(op=op):
                assert text.startswith(f" {op.value} ", node.position - 1)
            case Call(function=function):
                assert text.startswith(f"{function.value}(", node.position)
            case Unary(op=UnaryOp.NOT):
                assert text.startswith("not ", node.position)
            case Literal():
                assert text.startswith(print_literal(node), node.position)


@given(st.text(alphabet=st.sampled_from(list("ab eqnotdl()'-,1.5XML/ ")), max_size=30))
def test_any_text_parses_or_raises_query_syntax_error(text: str) -> None:
    try:
        parse_filter(text)
    except QuerySyntaxError as error:
        position = error.position
    else:
        return
    assert 0 <= position <= len(text)
