"""`revkv.query._types`: a filter of ill-typed operands is refused before it runs, with
a message naming the operand and the types; what may run is never refused."""

from __future__ import annotations

import pytest

from revkv.errors import QuerySyntaxError
from revkv.query import EdmType, compile_filter, parse_filter
from revkv.query._parse import MAX_TERMS
from revkv.query._types import check_filter, type_of

TYPES: dict[str, EdmType | None] = {
    "Key": EdmType.STRING,
    "Version": EdmType.INT64,
    "Price": EdmType.DOUBLE,
    "Amount": EdmType.DECIMAL,
    "Sale": EdmType.BOOLEAN,
    "Mtime": EdmType.DATETIMEOFFSET,
    "Expires": EdmType.DATETIME,
    "At": EdmType.TIME,
    "Id": EdmType.GUID,
    "Blob": EdmType.BINARY,
    "Loose": None,
}

WELL_TYPED = [
    "Key eq 'a'",
    "Key eq null",
    "null eq Version",
    "Version eq 1",
    "Version eq 1.5",
    "Price gt 3",
    "Amount lt 2.5M and Price ge Version",
    "Version add 1 eq 3",
    "-Price lt 0",
    "Mtime gt datetime'2000-01-01T00:00:00'",
    "Expires lt Mtime",
    "year(Mtime) eq 2031",
    "hour(At) eq 3",
    "length(Key) gt 2 or startswith(Key, 'a')",
    "substring(Key, 1, 2) eq 'bc'",
    "round(Price) eq 3 and floor(Amount) eq 2",
    "Sale",
    "not Sale",
    "Sale eq true",
    "Loose",
    "Loose eq 1 and Loose eq 'a'",
    "Key/a eq 1",
    "cast(Version, 'Edm.String') eq '1'",
    "isof(Key, 'Edm.String')",
    "Id eq guid'12345678-1234-1234-1234-123456789012'",
    "Blob eq X'00'",
    "null",
]

ILL_TYPED = [
    ("Key eq 1", "cannot compare Key (Edm.String) with 1 (Edm.Int32)", 4),
    ("1 eq Key", "cannot compare 1 (Edm.Int32) with Key (Edm.String)", 2),
    ("year(Key) eq 2031", "year() needs an Edm.DateTime or an Edm.DateTimeOffset, but Key is", 5),
    ("Key", "a $filter must be a boolean expression, but Key is an Edm.String", 0),
    ("Version add 1", "a $filter must be a boolean expression, but", 8),
    ("length(Key)", "but length() is an Edm.Int32", 0),
    ("Mtime eq 'yesterday'", "cannot compare Mtime (Edm.DateTimeOffset) with 'yesterday'", 6),
    ("Key add 1 eq 2", "'add' needs numbers, but Key is an Edm.String", 0),
    ("-Key eq 1", "'-' needs a number, but Key is an Edm.String", 1),
    ("not Key", "'not' needs a boolean, but Key is an Edm.String", 4),
    ("Key eq 'a' and Version", "'and' needs booleans, but Version is an Edm.Int64", 15),
    ("startswith(Version, 'a')", "startswith() needs an Edm.String, but Version is", 11),
    ("substring(Key, 'a') eq 'b'", "substring() needs an integer, but 'a' is an Edm.String", 15),
    ("round(Key) eq 1", "round() needs a number, but Key is an Edm.String", 6),
    ("Sale eq 1", "cannot compare Sale (Edm.Boolean) with 1 (Edm.Int32)", 5),
    ("Id eq 'x'", "cannot compare Id (Edm.Guid) with 'x' (Edm.String)", 3),
    ("Key eq Version", "cannot compare Key (Edm.String) with Version (Edm.Int64)", 4),
    ("At eq datetime'2000-01-01T00:00:00'", "cannot compare At (Edm.Time)", 3),
    ("tolower(Key) eq 3", "cannot compare tolower() (Edm.String) with 3 (Edm.Int32)", 13),
]


@pytest.mark.parametrize("text", WELL_TYPED)
def test_well_typed_filters_pass(text: str) -> None:
    check_filter(parse_filter(text), TYPES, source=text)


@pytest.mark.parametrize(("text", "message", "position"), ILL_TYPED)
def test_ill_typed_filters_name_the_operand_and_types(
    text: str, message: str, position: int
) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        check_filter(parse_filter(text), TYPES, source=text)
    assert message in caught.value.message
    assert caught.value.position == position


def test_compile_filter_checks_types_only_when_given_them() -> None:
    tree = parse_filter("Key eq 1")
    assert compile_filter(tree, source="Key eq 1")({"Key": "1"}) is False  # per record
    with pytest.raises(QuerySyntaxError, match="cannot compare Key"):
        compile_filter(tree, source="Key eq 1", types=TYPES)


def test_result_types() -> None:
    assert type_of(parse_filter("Version add Price"), TYPES) is EdmType.DOUBLE
    assert type_of(parse_filter("round(Amount)"), TYPES) is EdmType.DECIMAL
    assert type_of(parse_filter("cast(Key, 'Edm.Int16')"), TYPES) is EdmType.INT16
    assert type_of(parse_filter("Loose add 1"), TYPES) is EdmType.INT32


def test_the_longest_allowed_or_list_is_checked_without_recursion() -> None:
    """A list of ``or`` terms is a tree as deep as the list is long: the check must not
    recurse along it (the parser bounds nesting, not the length of a list)."""
    text = " or ".join(["Version eq 1"] * (MAX_TERMS // 2 - 1))
    check_filter(parse_filter(text), TYPES, source=text)
    with pytest.raises(QuerySyntaxError, match="'or' needs booleans, but Key is"):
        check_filter(parse_filter(text + " or Key"), TYPES, source=text + " or Key")
