"""revkv.query._evaluate and revkv.query._order: compiled filters and sorts over records."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from revkv.errors import QuerySyntaxError
from revkv.query import (
    Binary,
    BinaryOp,
    EdmType,
    Literal,
    Node,
    Property,
    Unary,
    UnaryOp,
    compile_expression,
    compile_filter,
    compile_orderby,
    parse_filter,
    parse_orderby,
    sort_records,
)

UTC = dt.UTC
CET = dt.timezone(dt.timedelta(hours=1))
MOMENT = dt.datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)
GUID = uuid.UUID("12345678-1234-1234-1234-123456789abc")


def matches(text: str, record: Mapping[str, Any]) -> bool:
    return compile_filter(parse_filter(text), source=text)(record)


def value(text: str, record: Mapping[str, Any] | None = None) -> Any:
    return compile_expression(parse_filter(text), source=text)(record or {})


# -- operators ----------------------------------------------------------------------------

FILTERS: list[tuple[str, dict[str, Any], bool]] = [
    # comparisons of each kind
    ("a eq 1", {"a": 1}, True),
    ("a eq 1", {"a": 2}, False),
    ("a ne 1", {"a": 2}, True),
    ("a ne 1", {"a": 1}, False),
    ("a lt 2", {"a": 1}, True),
    ("a lt 2", {"a": 2}, False),
    ("a le 2", {"a": 2}, True),
    ("a le 2", {"a": 3}, False),
    ("a gt 2", {"a": 3}, True),
    ("a gt 2", {"a": 2}, False),
    ("a ge 2", {"a": 2}, True),
    ("a ge 2", {"a": 1}, False),
    ("2 lt a", {"a": 3}, True),
    ("2 ge a", {"a": 3}, False),
    ("a lt b", {"a": 1, "b": 2}, True),
    ("a eq b", {"a": "x", "b": "x"}, True),
    ("a gt b", {"a": MOMENT, "b": MOMENT.replace(tzinfo=None)}, False),
    ("a eq 'Key'", {"a": "Key"}, True),
    ("a eq 'key'", {"a": "Key"}, False),
    ("a lt 'a'", {"a": "B"}, True),  # ordinal: uppercase sorts first
    ("a lt 'b'", {"a": "ab"}, True),
    ("a gt 'é'", {"a": "z"}, False),
    ("a eq true", {"a": True}, True),
    ("a eq false", {"a": True}, False),
    ("a lt true", {"a": False}, True),
    ("a eq 1.5", {"a": 1.5}, True),
    ("a gt 1.5D", {"a": 2.0}, True),
    ("a eq 1.5F", {"a": 1.5}, True),
    ("a eq 1.5M", {"a": Decimal("1.50")}, True),
    ("a eq guid'12345678-1234-1234-1234-123456789abc'", {"a": GUID}, True),
    ("a ne guid'12345678-1234-1234-1234-123456789abc'", {"a": uuid.uuid4()}, True),
    ("a eq X'0AFF'", {"a": b"\x0a\xff"}, True),
    ("a lt X'0B'", {"a": b"\x0a\xff"}, True),
    ("a gt time'PT1H'", {"a": dt.timedelta(hours=2)}, True),
    ("a eq time'01:00:00'", {"a": dt.timedelta(hours=1)}, True),
    # numeric promotion
    ("a eq 1", {"a": 1.0}, True),
    ("a eq 1.0", {"a": 1}, True),
    ("a lt 1.5", {"a": 1}, True),
    ("a eq 1", {"a": Decimal(1)}, True),
    ("a eq 1.1M", {"a": 1.1}, True),
    ("a eq 1.1", {"a": Decimal("1.1")}, True),
    ("a lt 1.2", {"a": Decimal("1.1")}, True),
    ("a eq 2147483648", {"a": 2**31}, True),
    ("a eq 12L", {"a": 12}, True),
    # datetimes: naive values are UTC; offsets are honoured
    ("a eq datetime'2026-03-04T05:06:07.89'", {"a": MOMENT}, True),
    ("a eq datetime'2026-03-04T05:06:07.89'", {"a": MOMENT.replace(tzinfo=None)}, True),
    ("a lt datetime'2026-03-04T05:06:08'", {"a": MOMENT.replace(tzinfo=None)}, True),
    ("a eq datetimeoffset'2026-03-04T06:06:07.89+01:00'", {"a": MOMENT}, True),
    ("a eq datetime'2026-03-04T05:06:07.89'", {"a": MOMENT.astimezone(CET)}, True),
    ("a gt datetime'2026-03-04T05:00'", {"a": dt.datetime(2026, 3, 4, 5, 30, tzinfo=CET)}, False),
    ("a ge b", {"a": MOMENT.replace(tzinfo=None), "b": MOMENT}, True),
    # null
    ("a eq null", {}, True),
    ("a eq null", {"a": None}, True),
    ("a eq null", {"a": 0}, False),
    ("null eq a", {"a": None}, True),
    ("a ne null", {"a": 0}, True),
    ("a ne null", {}, False),
    ("a eq 1", {}, False),
    ("a ne 1", {}, True),
    ("a lt 1", {}, False),
    ("a ge 1", {}, False),
    ("1 gt a", {}, False),
    ("a lt null", {"a": 1}, False),
    ("a le b", {}, False),
    ("a eq b", {}, True),
    ("a ne b", {"a": 1}, True),
    ("not (a lt 1)", {}, True),  # a comparison with null is false, not unknown
    ("null eq null", {}, True),
    ("null ne null", {}, False),
    # and, or, not with three-valued logic
    ("a eq 1 and b eq 2", {"a": 1, "b": 2}, True),
    ("a eq 1 and b eq 2", {"a": 1, "b": 3}, False),
    ("a eq 1 or b eq 2", {"a": 0, "b": 2}, True),
    ("a eq 1 or b eq 2", {"a": 0, "b": 0}, False),
    ("not a eq 1", {"a": False}, False),  # (not a) eq 1: a boolean is no number
    ("not (a eq 1)", {"a": 2}, True),
    ("flag", {"flag": True}, True),
    ("flag", {"flag": False}, False),
    ("flag", {}, False),
    ("flag", {"flag": 1}, False),
    ("not flag", {"flag": False}, True),
    ("not flag", {}, False),
    ("flag and true", {}, False),
    ("flag and false", {}, False),
    ("not (flag and false)", {}, True),
    ("not (flag and true)", {}, False),
    ("flag or true", {}, True),
    ("flag or false", {}, False),
    ("not (flag or false)", {}, False),
    ("not (flag or true)", {}, False),
    ("a and b and c", {"a": True, "b": True, "c": True}, True),
    ("a and b and c", {"a": True, "b": None, "c": False}, False),
    ("not (a and b and c)", {"a": True, "b": None, "c": True}, False),
    ("a or b or c", {"a": None, "b": False, "c": True}, True),
    ("true", {}, True),
    ("false", {}, False),
    ("null", {}, False),
    # arithmetic
    ("a add 1 eq 3", {"a": 2}, True),
    ("a sub 1 eq 1", {"a": 2}, True),
    ("a mul 3 eq 6", {"a": 2}, True),
    ("a div 2 eq 3", {"a": 7}, True),
    ("a div 2 eq -3", {"a": -7}, True),  # truncates toward zero
    ("a mod 2 eq -1", {"a": -7}, True),  # sign of the dividend
    ("a mod -2 eq 1", {"a": 7}, True),
    ("a div 2 eq 3.5", {"a": 7.0}, True),
    ("a mod 2 eq -1.5", {"a": -7.5}, True),
    ("a div 2M eq 3.5M", {"a": Decimal(7)}, True),
    ("a mod 2 eq -1", {"a": Decimal(-7)}, True),
    ("a add 0.5 eq 2.5", {"a": 2}, True),
    ("a add 1.5 eq 3", {"a": Decimal("1.5")}, True),
    ("a add 1.5M eq 3", {"a": 1.5}, True),
    ("-a eq -5", {"a": 5}, True),
    ("- a add 1 eq -4", {"a": 5}, True),
    ("a add b eq null", {"a": 1}, True),
    ("a add 1 gt 0", {}, False),
    ("-a eq null", {}, True),
    # a type error makes the record not match, and never raises
    ("a add 1 eq 2", {"a": "x"}, False),
    ("not (a add 1 eq 2)", {"a": "x"}, False),
    ("a eq 1", {"a": "1"}, False),
    ("a ne 1", {"a": "1"}, False),
    ("a eq 1", {"a": True}, False),
    ("a lt 'x'", {"a": 1}, False),
    ("a lt b", {"a": 1, "b": "x"}, False),
    ("a eq b", {"a": b"x", "b": "x"}, False),
    ("a lt datetime'2026-01-01T00:00'", {"a": dt.date(2025, 1, 1)}, False),
    ("a eq 1", {"a": [1]}, False),
    ("a lt b", {"a": [1], "b": [2]}, False),
    ("a div 0 eq 1", {"a": 1}, False),
    ("a div b eq 1", {"a": 1.0, "b": 0.0}, False),
    ("a mod 0 eq 1", {"a": 1}, False),
    ("a mod 2.0 eq 1", {"a": float("inf")}, False),  # NaN, as IEEE has it
    ("a mul 1e308 mul 10.0 mod 2.0 ne a", {"a": 1}, True),
    ("a mod b eq 1.5", {"a": 1.5, "b": float("inf")}, True),
    ("a div 0M eq 1", {"a": Decimal(1)}, False),
    ("-a eq 1", {"a": "x"}, False),
    ("not a", {"a": "x"}, False),
    ("a and true", {"a": "x"}, False),
    ("a or true", {"a": 1}, False),
    ("a lt 1.5", {"a": Decimal("NaN")}, False),
    ("a lt 1", {"a": float("nan")}, False),
    ("a ne a", {"a": float("nan")}, True),
    # left to right, short-circuiting
    ("a eq 'x' or a add 1 eq 2", {"a": "x"}, True),
    ("a add 1 eq 2 or a eq 'x'", {"a": "x"}, False),
    ("a eq 'y' and a add 1 eq 2", {"a": "x"}, False),
    # paths into nested mappings
    ("Address/City eq 'Paris'", {"Address": {"City": "Paris"}}, True),
    ("Address/City eq null", {"Address": {}}, True),
    ("Address/City eq null", {}, True),
    ("Address/City eq null", {"Address": "Paris"}, False),
    ("a/b/c eq 1", {"a": {"b": {"c": 1}}}, True),
    # functions in filters
    ("substringof('ell', a)", {"a": "hello"}, True),
    ("substringof('xyz', a)", {"a": "hello"}, False),
    ("substringof(a, 'hello')", {"a": "ell"}, True),
    ("substringof(a, b)", {"a": "ell", "b": "hello"}, True),
    ("startswith(a, 'he')", {"a": "hello"}, True),
    ("startswith(a, 'He')", {"a": "hello"}, False),
    ("startswith('hello', a)", {"a": "he"}, True),
    ("endswith(a, 'lo')", {"a": "hello"}, True),
    ("endswith(a, 'l')", {"a": "hello"}, False),
    ("startswith(a, 'x')", {}, False),
    ("not startswith(a, 'x')", {}, False),
    ("not startswith(a, 'x')", {"a": "abc"}, True),
    ("startswith(a, 'x')", {"a": 1}, False),
    ("indexof(a, 'l') eq 2", {"a": "hello"}, True),
    ("length(a) eq 5", {"a": "hello"}, True),
    ("tolower(a) eq 'abc'", {"a": "AbC"}, True),
    ("year(a) eq 2026 and month(a) eq 3 and day(a) eq 4", {"a": MOMENT}, True),
    ("isof(a, 'Edm.String')", {"a": "x"}, True),
    ("isof(a, 'Edm.String')", {"a": 1}, False),
    ("isof(a, 'Edm.String')", {}, False),
    ("not isof(a, 'Edm.String')", {}, True),
    ("round(a) eq 3", {"a": 2.5}, True),
]


@pytest.mark.parametrize(("text", "record", "expected"), FILTERS)
def test_filter(text: str, record: dict[str, Any], expected: bool) -> None:
    assert matches(text, record) is expected


def test_every_operator_is_covered() -> None:
    texts = " ".join(text for text, _, _ in FILTERS)
    for op in BinaryOp:
        assert f" {op.value} " in texts


def test_the_predicate_compiles_once_and_takes_any_mapping() -> None:
    text = "Expires lt datetime'2026-01-01T00:00:00' and startswith(Key, '1')"
    predicate = compile_filter(parse_filter(text), {"Key", "Expires"}, source=text)
    early, late = dt.datetime(2025, 1, 1, tzinfo=UTC), dt.datetime(2027, 1, 1, tzinfo=UTC)
    records = [
        {"Key": "10", "Expires": early},
        {"Key": "10", "Expires": late},
        {"Key": "20", "Expires": early},
        {"Key": "1", "Expires": None},
        {"Key": None, "Expires": early},
        {"Key": "1", "Expires": early.replace(tzinfo=None)},
    ]
    assert [predicate(r) for r in records] == [True, False, False, False, False, True]

    class Row(Mapping[str, Any]):
        def __init__(self, **values: Any) -> None:
            self.values = values

        def __getitem__(self, key: str) -> Any:
            return self.values[key]

        def __iter__(self) -> Any:
            return iter(self.values)

        def __len__(self) -> int:
            return len(self.values)

    assert predicate(Row(Key="15", Expires=early))


def test_subclasses_of_value_types_count_as_them() -> None:
    class Name(str):
        pass

    class Count(int):
        pass

    assert matches("a eq 'x'", {"a": Name("x")})
    assert matches("startswith(a, 'x')", {"a": Name("xy")})
    assert matches("a add 1 eq 3", {"a": Count(2)})
    assert matches("a gt b", {"a": Name("b"), "b": "a"})


def _chain(op: BinaryOp, compare: BinaryOp, count: int) -> Node:
    """`Key <compare> '0' <op> Key <compare> '1' ...`, left-nested as the parser makes it
    (built directly: the parser stops at MAX_TERMS, a tree from elsewhere need not)."""
    terms = [
        Binary(compare, Property("Key"), Literal(str(n), EdmType.STRING)) for n in range(count)
    ]
    return functools.reduce(lambda left, right: Binary(op, left, right), terms)


def test_long_or_lists_evaluate_without_recursion() -> None:
    predicate = compile_filter(_chain(BinaryOp.OR, BinaryOp.EQ, 5000))
    assert predicate({"Key": "4999"})
    assert not predicate({"Key": "5000"})
    predicate = compile_filter(_chain(BinaryOp.AND, BinaryOp.NE, 5000))
    assert predicate({"Key": "5000"})
    assert not predicate({"Key": "0"})


# -- functions ----------------------------------------------------------------------------

VALUES: list[tuple[str, dict[str, Any], Any]] = [
    ("substringof('b', 'abc')", {}, True),
    ("substringof('', 'abc')", {}, True),
    ("startswith('abc', '')", {}, True),
    ("endswith('abc', 'bc')", {}, True),
    ("length('')", {}, 0),
    ("length('héllo')", {}, 5),
    ("indexof('hello', 'l')", {}, 2),
    ("indexof('hello', 'h')", {}, 0),
    ("indexof('hello', 'x')", {}, -1),
    ("replace('a-b-c', '-', '+')", {}, "a+b+c"),
    ("replace('abc', '', 'x')", {}, "abc"),
    ("substring('abcdef', 2)", {}, "cdef"),
    ("substring('abcdef', 2, 3)", {}, "cde"),
    ("substring('abcdef', 0, 0)", {}, ""),
    ("substring('abc', 5)", {}, ""),
    ("substring('abc', 1, 10)", {}, "bc"),
    ("substring('abc', -1, 2)", {}, "ab"),
    ("tolower('ÄbC')", {}, "äbc"),
    ("toupper('äbc')", {}, "ÄBC"),
    ("trim('  a b \t')", {}, "a b"),
    ("concat('ab', 'cd')", {}, "abcd"),
    ("concat(concat(a, '-'), b)", {"a": "x", "b": "y"}, "x-y"),
    ("year(a)", {"a": MOMENT}, 2026),
    ("month(a)", {"a": MOMENT}, 3),
    ("day(a)", {"a": MOMENT}, 4),
    ("hour(a)", {"a": MOMENT}, 5),
    ("minute(a)", {"a": MOMENT}, 6),
    ("second(a)", {"a": MOMENT}, 7),
    ("hour(a)", {"a": MOMENT.replace(tzinfo=None)}, 5),
    ("hour(a)", {"a": MOMENT.astimezone(CET)}, 6),  # in its own offset, as .NET
    ("hour(datetimeoffset'2026-03-04T23:30:00-05:00')", {}, 23),
    ("day(datetime'2026-03-04T23:30:00')", {}, 4),
    ("hour(time'PT13H20M5S')", {}, 13),
    ("minute(time'13:20:05')", {}, 20),
    ("second(time'13:20:05')", {}, 5),
    ("round(2.5)", {}, 3.0),
    ("round(-2.5)", {}, -3.0),
    ("round(2.4999)", {}, 2.0),
    ("round(0.49999999999999994)", {}, 0.0),
    ("round(1.5)", {}, 2.0),
    ("round(0.5)", {}, 1.0),
    ("round(2.5M)", {}, Decimal(3)),
    ("round(-2.5M)", {}, Decimal(-3)),
    ("round(7)", {}, 7),
    ("round(INF)", {}, float("inf")),
    ("floor(-1.5)", {}, -2.0),
    ("floor(1.5M)", {}, Decimal(1)),
    ("ceiling(1.2)", {}, 2.0),
    ("ceiling(-1.2M)", {}, Decimal(-1)),
    ("isof(1, 'Edm.Int32')", {}, True),
    ("isof(2147483648, 'Edm.Int32')", {}, False),
    ("isof(2147483648, 'Edm.Int64')", {}, True),
    ("isof(300, 'Edm.Byte')", {}, False),
    ("isof(true, 'Edm.Boolean')", {}, True),
    ("isof(true, 'Edm.Int32')", {}, False),
    ("isof(1.5, 'Edm.Double')", {}, True),
    ("isof(a, 'Edm.DateTime')", {"a": MOMENT}, True),
    ("isof(a, 'Edm.Guid')", {"a": GUID}, True),
    ("cast(2.7, 'Edm.Int32')", {}, 2),
    ("cast(-2.7, 'Edm.Int32')", {}, -2),
    ("cast(a, 'Edm.Int32')", {"a": " 12 "}, 12),
    ("cast(12, 'Edm.String')", {}, "12"),
    ("cast(true, 'Edm.String')", {}, "true"),
    ("cast(1.1, 'Edm.Decimal')", {}, Decimal("1.1")),
    ("cast('1.5', 'Edm.Double')", {}, 1.5),
    ("cast(3, 'Edm.Double')", {}, 3.0),
    ("cast(a, 'Edm.DateTime')", {"a": MOMENT}, MOMENT),
    # null in, null out
    ("length(a)", {}, None),
    ("substring(a, 1)", {}, None),
    ("substring('abc', a)", {}, None),
    ("concat(a, 'x')", {}, None),
    ("year(a)", {}, None),
    ("round(a)", {}, None),
    ("cast(a, 'Edm.Int32')", {}, None),
    ("a add 1", {}, None),
    ("-a", {}, None),
    # what does not apply gives null from compile_expression
    ("length(a)", {"a": 1}, None),
    ("year(a)", {"a": "2026"}, None),
    ("hour(a)", {"a": dt.date(2026, 1, 1)}, None),
    ("round(a)", {"a": "1"}, None),
    ("substring(a, 1, -1)", {"a": "abc"}, None),
    ("substring(a, 1.5)", {"a": "abc"}, None),
    ("cast(a, 'Edm.Int32')", {"a": "x"}, None),
    ("cast(a, 'Edm.Byte')", {"a": 300}, None),
    ("cast(a, 'Edm.Double')", {"a": True}, None),
    ("cast(a, 'Edm.Guid')", {"a": "x"}, None),
    ("a div 0", {"a": 1}, None),
]


@pytest.mark.parametrize(("text", "record", "expected"), VALUES)
def test_value(text: str, record: dict[str, Any], expected: Any) -> None:
    result = value(text, record)
    assert result == expected
    assert type(result) is type(expected)


def test_every_function_is_covered() -> None:
    from revkv.query import Function

    texts = " ".join(text for text, _, _ in [*VALUES, *FILTERS])
    for function in Function:
        assert f"{function.value}(" in texts


# -- compile-time errors -------------------------------------------------------------------

COMPILE_ERRORS: list[tuple[str, set[str] | None, str, int]] = [
    ("1 eq 'a'", None, "cannot evaluate this: cannot compare Edm.Int64 with Edm.String", 2),
    ("a eq 1 or 1 div 0 eq 1", None, "cannot evaluate this: ", 12),
    ("length(1) eq 1", None, "length() needs a string, got Edm.Int64", 0),
    ("a eq 'x' add 1", None, "'add' needs numbers, got Edm.String and Edm.Int64", 9),
    ("a add 1", None, "expected a boolean expression, but this gives a number ('add')", 2),
    ("-a", None, "but this gives a number ('-')", 0),
    ("'abc'", None, "but this gives an Edm.String literal", 0),
    ("1", None, "but this gives an Edm.Int32 literal", 0),
    ("a and 1", None, "but this gives an Edm.Int32 literal", 6),
    ("a or length(b)", None, "but this gives an Edm.Int32 (length)", 5),
    ("not tolower(a)", None, "but this gives an Edm.String (tolower)", 4),
    ("round(a)", None, "but this gives a number (round)", 0),
    ("cast(a, 'Edm.Int32')", None, "but this gives an Edm.Int32 (cast)", 0),
    ("isof('Edm.String')", None, "isof() with only a type", 0),
    ("a eq cast('Edm.String')", None, "cast() with only a type", 5),
    ("Kye eq 'a'", {"Key", "Value"}, "unknown property 'Kye'; did you mean 'Key'?", 0),
    ("Key eq 'a' and Zzz eq 1", {"Key", "Value"}, "unknown property 'Zzz'", 15),
    ("Foo/Bar eq 1", {"Key"}, "unknown property 'Foo'", 0),
    ("length(Nope) eq 1", {"Key"}, "unknown property 'Nope'", 7),
]


@pytest.mark.parametrize(("text", "properties", "message", "position"), COMPILE_ERRORS)
def test_compile_error(text: str, properties: set[str] | None, message: str, position: int) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        compile_filter(parse_filter(text), properties, source=text)
    assert message in caught.value.message
    assert caught.value.position == position
    assert caught.value.expression == text


def test_known_properties_and_paths_compile() -> None:
    properties = {"Key", "Address"}
    predicate = compile_filter(parse_filter("Address/City eq 'x' or Key eq 'k'"), properties)
    assert predicate({"Key": "k"})
    assert predicate({"Address": {"City": "x"}})


def test_constant_filters_fold() -> None:
    assert compile_filter(parse_filter("1 add 2 eq 3"))({})
    assert not compile_filter(parse_filter("'a' eq 'b'"))({})
    assert compile_filter(parse_filter("-7 div 2 eq -3 and startswith('abc', 'a')"))({})


def test_orderby_expression_errors_are_checked_too() -> None:
    with pytest.raises(QuerySyntaxError, match="unknown property 'Nope'"):
        compile_orderby(parse_orderby("Key, Nope desc"), {"Key"}, source="Key, Nope desc")


# -- reference evaluation over random records ------------------------------------------------

NAMES = ["a", "b", "c"]
_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(-3, 3, allow_nan=False).map(lambda f: round(f, 1)),
    st.decimals(-3, 3, places=1),
    st.sampled_from(["", "a", "b", "ab", "B"]),
    st.sampled_from([MOMENT, MOMENT.replace(tzinfo=None), MOMENT.astimezone(CET)]),
    st.sampled_from([MOMENT + dt.timedelta(hours=1), MOMENT.replace(tzinfo=None, hour=1)]),
)
_records = st.dictionaries(st.sampled_from(NAMES), _values)
_literal_values = st.one_of(
    st.none().map(lambda _: Literal(None, None)),
    st.booleans().map(lambda v: Literal(v, EdmType.BOOLEAN)),
    st.integers(-3, 3).map(lambda v: Literal(v, EdmType.INT32)),
    st.decimals(-3, 3, places=1).map(lambda v: Literal(v, EdmType.DECIMAL)),
    st.floats(-3, 3, allow_nan=False).map(lambda f: Literal(round(f, 1), EdmType.DOUBLE)),
    st.sampled_from(["", "a", "b", "ab", "B"]).map(lambda v: Literal(v, EdmType.STRING)),
    st.just(Literal(MOMENT, EdmType.DATETIME)),
)
_operands = st.one_of(st.sampled_from(NAMES).map(Property), _literal_values)
_comparisons = st.builds(
    Binary,
    st.sampled_from([BinaryOp.EQ, BinaryOp.NE, BinaryOp.LT, BinaryOp.LE, BinaryOp.GT, BinaryOp.GE]),
    st.sampled_from(NAMES).map(Property),
    _operands,
)
_boolean_leaves = st.one_of(
    _comparisons,
    st.sampled_from(NAMES).map(Property),
    st.sampled_from([Literal(True, EdmType.BOOLEAN), Literal(False, EdmType.BOOLEAN)]),
)
_filters: st.SearchStrategy[Node] = st.recursive(
    _boolean_leaves,
    lambda children: st.one_of(
        st.builds(Unary, st.just(UnaryOp.NOT), children),
        st.builds(Binary, st.sampled_from([BinaryOp.AND, BinaryOp.OR]), children, children),
    ),
    max_leaves=8,
)


class _Error(Exception):
    pass


def _reference_kind(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float | Decimal):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dt.datetime):
        return "datetime"
    raise _Error


def _reference_compare(op: BinaryOp, x: Any, y: Any) -> bool:
    if x is None or y is None:
        both = x is None and y is None
        return both if op is BinaryOp.EQ else (not both if op is BinaryOp.NE else False)
    if _reference_kind(x) != _reference_kind(y):
        raise _Error
    if isinstance(x, dt.datetime):
        x, y = (v if v.tzinfo else v.replace(tzinfo=UTC) for v in (x, y))
    if {type(x), type(y)} == {float, Decimal}:
        x, y = float(x), float(y)
    return {
        BinaryOp.EQ: x == y,
        BinaryOp.NE: x != y,
        BinaryOp.LT: x < y,
        BinaryOp.LE: x <= y,
        BinaryOp.GT: x > y,
        BinaryOp.GE: x >= y,
    }[op]


def _reference(node: Node, record: Mapping[str, Any]) -> bool | None:
    """A direct tree walk with the documented rules, as a reader of them would write it."""
    match node:
        case Literal(value=v):
            return v  # type: ignore[return-value]
        case Property(name=name):
            v = record.get(name)
            if v is not None and not isinstance(v, bool):
                raise _Error
            return v
        case Unary(operand=operand):
            v = _reference(operand, record)
            return None if v is None else not v
        case Binary(op=BinaryOp.AND, left=left, right=right):
            x = _reference(left, record)
            if x is False:
                return False
            y = _reference(right, record)
            if y is False:
                return False
            return None if x is None or y is None else True
        case Binary(op=BinaryOp.OR, left=left, right=right):
            x = _reference(left, record)
            if x is True:
                return True
            y = _reference(right, record)
            if y is True:
                return True
            return None if x is None or y is None else False
        case Binary(op=op, left=Property(name=name), right=right):
            other = record.get(right.name) if isinstance(right, Property) else right.value
            return _reference_compare(op, record.get(name), other)
    raise AssertionError(node)


@given(_filters, st.lists(_records, max_size=8))
def test_compiled_filter_agrees_with_a_reference_walk(tree: Node, records: list[Any]) -> None:
    predicate = compile_filter(tree)
    for record in records:
        try:
            expected = _reference(tree, record) is True
        except _Error:
            expected = False
        assert predicate(record) is expected, (tree, record)


@given(_filters, _records)
def test_not_negates_except_for_null(tree: Node, record: dict[str, Any]) -> None:
    positive = compile_filter(tree)(record)
    negative = compile_filter(Unary(UnaryOp.NOT, tree))(record)
    assert not (positive and negative)


# -- $orderby -------------------------------------------------------------------------------


def keys(records: list[dict[str, Any]], name: str = "k") -> list[Any]:
    return [r.get(name) for r in records]


def test_orderby_ascending_puts_nulls_first() -> None:
    records = [{"k": 2}, {"k": None}, {"k": 1}, {}, {"k": 1.5}, {"k": Decimal("0.5")}]
    ordered = sort_records(records, parse_orderby("k"))
    assert keys(ordered) == [None, None, Decimal("0.5"), 1, 1.5, 2]
    assert ordered[0] is records[1]  # stable among nulls
    assert ordered[1] is records[3]


def test_orderby_descending_puts_nulls_last() -> None:
    records = [{"k": "b"}, {"k": None}, {"k": "B"}, {"k": "a"}]
    assert keys(sort_records(records, parse_orderby("k desc"))) == ["b", "a", "B", None]


def test_orderby_several_keys_stably() -> None:
    records = [
        {"k": 1, "v": "x", "n": 0},
        {"k": 2, "v": "y", "n": 1},
        {"k": 1, "v": "y", "n": 2},
        {"k": 2, "v": "x", "n": 3},
        {"k": 1, "v": "y", "n": 4},
        {"k": None, "v": "z", "n": 5},
    ]
    ordered = sort_records(records, parse_orderby("k desc, v"))
    assert keys(ordered, "n") == [3, 1, 0, 2, 4, 5]
    ordered = sort_records(records, parse_orderby("v desc,k asc"))
    assert keys(ordered, "n") == [5, 2, 4, 1, 0, 3]


def test_orderby_expressions_and_mixed_kinds() -> None:
    records = [{"k": "ccc"}, {"k": "a"}, {"k": 5}, {"k": "bb"}, {"k": MOMENT}, {"k": True}]
    ordered = sort_records(records, parse_orderby("length(k) desc"))
    assert keys(ordered) == ["ccc", "bb", "a", 5, MOMENT, True]  # non-strings give null
    ordered = sort_records(records, parse_orderby("k"))
    assert keys(ordered) == [5, True, "a", "bb", "ccc", MOMENT]


def test_orderby_datetimes_naive_as_utc_and_nan_first() -> None:
    naive = MOMENT.replace(tzinfo=None)
    records = [{"k": MOMENT + dt.timedelta(seconds=1)}, {"k": naive}, {"k": MOMENT.astimezone(CET)}]
    assert keys(sort_records(records, parse_orderby("k")))[0] == naive
    numbers = [{"k": 1.0}, {"k": float("nan")}, {"k": -1}, {"k": Decimal("NaN")}]
    ordered = keys(sort_records(numbers, parse_orderby("k")))
    assert ordered[2:] == [-1, 1.0]


def test_compiled_orderby_reuses_and_returns_a_new_list() -> None:
    sort = compile_orderby(parse_orderby("k"), {"k"})
    records = [{"k": 2}, {"k": 1}]
    assert keys(sort(records)) == [1, 2]
    assert keys(records) == [2, 1]
    assert keys(sort(iter(records))) == [1, 2]
    assert sort([]) == []


_sortable = st.one_of(st.none(), st.integers(-5, 5), st.sampled_from(["a", "b", "B", ""]))


@given(st.lists(st.fixed_dictionaries({"k": _sortable, "v": _sortable}), max_size=20))
def test_orderby_is_a_stable_lexicographic_sort(drawn: list[dict[str, Any]]) -> None:
    def rank(v: Any) -> tuple[Any, ...]:
        return (0,) if v is None else (1, isinstance(v, str), v)

    records = [dict(record, n=n) for n, record in enumerate(drawn)]
    ordered = sort_records(records, parse_orderby("k desc, v"))
    assert sorted(keys(ordered, "n")) == list(range(len(records)))
    for first, second in itertools.pairwise(ordered):
        a, b = rank(first["k"]), rank(second["k"])
        assert a >= b
        if a == b:
            assert rank(first["v"]) <= rank(second["v"])
            if rank(first["v"]) == rank(second["v"]):
                assert first["n"] < second["n"]
