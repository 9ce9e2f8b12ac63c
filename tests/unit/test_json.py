"""`revkv._json.parse_json`: the one parser of JSON from the network, with its bounds."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from revkv._json import MAX_DEPTH, deeper_than, parse_json
from revkv.errors import InvalidRequest, SchemaViolation


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


IDS = [
    "129", "100000", "objects", "nan", "infinity", "escaped-surrogate", "surrogate",
    "not-utf8", "empty", "5000-digits",
]  # fmt: skip


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (nested(MAX_DEPTH + 1), "deeper than 128 levels"),
        (nested(100_000), "deeper than 128 levels"),  # past the interpreter's recursion limit
        ('{"a": ' * 129 + "1" + "}" * 129, "deeper than 128 levels"),
        (b'{"x": NaN}', "not valid JSON"),
        (b"[Infinity]", "not valid JSON"),
        (b'"\\ud800"', "not valid JSON"),
        ('"\ud800"', "lone surrogate"),
        (b"\xff", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"1" * 5000, "not valid JSON"),
    ],
    ids=IDS,
)
def test_what_revkv_could_not_keep_is_refused_with_a_message(data: Any, says: str) -> None:
    with pytest.raises(InvalidRequest, match=says):
        parse_json(data, "the body")


def test_the_limit_itself_is_taken_and_brackets_in_strings_do_not_count() -> None:
    assert parse_json(nested(MAX_DEPTH)) == parse_json(nested(MAX_DEPTH))
    assert parse_json('["' + "[" * 1000 + '"]') == ["[" * 1000]


def test_decimals_and_the_error_class_are_the_callers() -> None:
    assert parse_json(b"[1.5, 1e400, 2]", decimals=True) == [Decimal("1.5"), Decimal("1e400"), 2]
    with pytest.raises(SchemaViolation, match="the request body is not valid JSON"):
        parse_json(b"{", "the request body", error=SchemaViolation)


def test_deeper_than_walks_without_recursion() -> None:
    value: Any = []
    for _ in range(100_000):
        value = [value]
    assert deeper_than(value, MAX_DEPTH)
    assert not deeper_than({"a": [1, {"b": []}]}, 4)  # object, array, object, array
    assert deeper_than({"a": [1, {"b": []}]}, 3)
