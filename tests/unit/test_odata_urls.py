"""revkv.http._odata.urls: resource paths, system query options, entity paths, next links."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from revkv.errors import InvalidRequest, QuerySyntaxError
from revkv.http._odata.schema import EntitySet, EntityType, Property, default_entity_type
from revkv.http._odata.urls import (
    KeyPredicate,
    PathError,
    QueryOptionError,
    QueryOptions,
    Resource,
    ResourceKind,
    check_select,
    entity_path,
    next_link,
    parse_query_options,
    parse_resource_path,
)
from revkv.query import Binary, BinaryOp, EdmType, Literal, OrderBy
from revkv.query import Property as Prop

K = ResourceKind
STRING_SET = EntitySet("KeyValuePairs", default_entity_type("KeyValuePair"), "C", "S")


def typed_set(edm: EdmType) -> EntitySet:
    entity_type = EntityType("S", "T", "Id", (Property("Id", edm, nullable=False),))
    return EntitySet("Things", entity_type, "C", "S")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("", Resource(K.SERVICE)),
        ("$metadata", Resource(K.METADATA)),
        ("$batch", Resource(K.BATCH)),
        ("KeyValuePairs", Resource(K.COLLECTION, "KeyValuePairs")),
        ("KeyValuePairs/", Resource(K.COLLECTION, "KeyValuePairs")),
        ("KeyValuePairs()", Resource(K.COLLECTION, "KeyValuePairs")),
        ("MemCache.KeyValuePairs", Resource(K.COLLECTION, "MemCache.KeyValuePairs")),
        ("KeyValuePairs/$count", Resource(K.COUNT, "KeyValuePairs")),
        (
            "KeyValuePairs('25')",
            Resource(K.ENTITY, "KeyValuePairs", KeyPredicate("25", EdmType.STRING)),
        ),
        ("People(42)", Resource(K.ENTITY, "People", KeyPredicate(42, EdmType.INT32))),
        ("People(-42L)", Resource(K.ENTITY, "People", KeyPredicate(-42, EdmType.INT64))),
        (
            "KeyValuePairs(Key='k')",
            Resource(K.ENTITY, "KeyValuePairs", KeyPredicate("k", EdmType.STRING, "Key")),
        ),
        (
            "KeyValuePairs( Key = 'k' )",
            Resource(K.ENTITY, "KeyValuePairs", KeyPredicate("k", EdmType.STRING, "Key")),
        ),
        (
            "KeyValuePairs('25')/$count",
            Resource(K.COUNT, "KeyValuePairs", KeyPredicate("25", EdmType.STRING)),
        ),
        (
            "KeyValuePairs('25')/$value",
            Resource(K.MEDIA_VALUE, "KeyValuePairs", KeyPredicate("25", EdmType.STRING)),
        ),
        (
            "KeyValuePairs('25')/Value",
            Resource(K.PROPERTY, "KeyValuePairs", KeyPredicate("25", EdmType.STRING), "Value"),
        ),
        (
            "KeyValuePairs('25')/Value/$value",
            Resource(
                K.PROPERTY_VALUE, "KeyValuePairs", KeyPredicate("25", EdmType.STRING), "Value"
            ),
        ),
        (
            "Things(guid'00000000-0000-0000-0000-000000000001')",
            Resource(K.ENTITY, "Things", KeyPredicate(uuid.UUID(int=1), EdmType.GUID)),
        ),
        (
            "Things(datetime'2026-01-01T00:00')",
            Resource(
                K.ENTITY,
                "Things",
                KeyPredicate(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), EdmType.DATETIME),
            ),
        ),
    ],
)
def test_resource_paths(path: str, expected: Resource) -> None:
    assert parse_resource_path(path) == expected


@pytest.mark.parametrize(
    "key",
    [
        "it's",
        "a/b",
        "(paren)",
        "x)/Value",
        "sp ace&amp=",
        "ü€",
        "x?y#z",
        "100%",
        "''",
        "%41",
        "a,b=c",
    ],
)
def test_decoded_keys_with_slashes_quotes_and_parentheses(key: str) -> None:
    path = f"KeyValuePairs({unquote(entity_path(STRING_SET, key).split('(', 1)[1][:-1])})/Value"
    resource = parse_resource_path(path)
    assert resource.kind is K.PROPERTY
    assert resource.key == KeyPredicate(key, EdmType.STRING)
    assert resource.property == "Value"


@given(st.text(min_size=1, max_size=30))
def test_entity_paths_decode_once_to_the_same_key(key: str) -> None:
    path = entity_path(STRING_SET, key)
    assert path.isascii()
    resource = parse_resource_path(unquote(path, errors="surrogatepass"))
    assert resource.key == KeyPredicate(key, EdmType.STRING)


@pytest.mark.parametrize(
    ("key", "encoded"),
    [
        ("it's", "KeyValuePairs('it''s')"),
        ("a/b", "KeyValuePairs('a%2Fb')"),
        ("sp ace&amp=", "KeyValuePairs('sp%20ace%26amp%3D')"),
        ("ü€", "KeyValuePairs('%C3%BC%E2%82%AC')"),
        ("x?y#z", "KeyValuePairs('x%3Fy%23z')"),
        ("100%", "KeyValuePairs('100%25')"),
    ],
)
def test_entity_path_encodes_keys_as_pyslets_client_does(key: str, encoded: str) -> None:
    assert entity_path(STRING_SET, key) == encoded


def test_entity_path_of_other_key_types() -> None:
    assert entity_path(typed_set(EdmType.INT32), 42) == "Things(42)"
    assert entity_path(typed_set(EdmType.INT64), 42) == "Things(42L)"
    guid = entity_path(typed_set(EdmType.GUID), uuid.UUID(int=1))
    assert guid == "Things(guid'00000000-0000-0000-0000-000000000001')"
    moment = entity_path(typed_set(EdmType.DATETIME), dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert moment == "Things(datetime'2026-01-01T00%3A00%3A00.000')"
    container = EntitySet("S", STRING_SET.entity_type, "C", "N", in_default_container=False)
    assert entity_path(container, "k") == "C.S('k')"


@pytest.mark.parametrize(
    ("path", "message", "position"),
    [
        ("9Sets", "expected an entity set name", 0),
        ("Set('abc", "unterminated string in the key", 3),
        ("Set(1", "missing ')' after the key", 3),
        ("Set('a','b')", "composite keys are not supported", 4),
        ("Set(A='a',B='b')", "composite keys are not supported", 4),
        ("Set(Key=)", "the key must be one literal", 8),
        ("Set(1 2)", "the key must be one literal", 4),
        ("Set(Key)", "the key must be one literal", 4),
        ("Set(9x='a')", "'9x' is not a property name", 4),
        ("Set(A='a'='b')", "unexpected '='", 9),
        ("Set(bogus'1')", "bad key: unknown literal type 'bogus'", 4),
        ("Set('a')x", "unexpected 'x'", 8),
        ("Set/Value", "'Value' needs a single entity", 4),
        ("Set/$value", "'$value' needs a single entity", 4),
        ("Set('a')/$links/X", "'$links' is not a property name", 9),
        ("Set('a')/9", "'9' is not a property name", 9),
        ("Set('a')/Value/Sub", "only $value may follow a property", 15),
        ("Set/$count/$value", "nothing may follow $count", 10),
    ],
)
def test_path_errors_say_what_and_where(path: str, message: str, position: int) -> None:
    with pytest.raises(PathError, match=re.escape(message)) as caught:
        parse_resource_path(path)
    assert caught.value.position == position
    assert f"at position {position} of the path" in str(caught.value)
    assert isinstance(caught.value, InvalidRequest)


class TestQueryOptions:
    def test_none(self) -> None:
        assert parse_query_options([]) == QueryOptions()

    def test_every_option(self) -> None:
        options = parse_query_options(
            [
                ("$filter", "Expires lt datetime'2026-11-23T12:05:39'"),
                ("$orderby", "Expires desc, Key asc"),
                ("$top", "5"),
                ("$skip", "10"),
                ("$skiptoken", "C8"),
                ("$inlinecount", "allpages"),
                ("$select", "Key, Value,Key"),
                ("$format", "json"),
                ("$expand", ""),
                ("custom", "1"),
            ]
        )
        assert options.filter == Binary(
            BinaryOp.LT,
            Prop("Expires"),
            Literal(dt.datetime(2026, 11, 23, 12, 5, 39, tzinfo=dt.UTC), EdmType.DATETIME),
        )
        assert options.orderby == (OrderBy(Prop("Expires"), True), OrderBy(Prop("Key")))
        assert (options.top, options.skip, options.skiptoken) == (5, 10, "C8")
        assert options.inlinecount
        assert options.select == ("Key", "Value")
        assert options.format == "json"
        assert options.custom == {"custom": "1"}
        assert options.filter_text == "Expires lt datetime'2026-11-23T12:05:39'"

    @pytest.mark.parametrize(
        ("value", "expected"),
        [("*", None), ("Key,*", None), ("Value", ("Value",))],
    )
    def test_select(self, value: str, expected: tuple[str, ...] | None) -> None:
        assert parse_query_options({"$select": value}).select == expected

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("atom", "atom"),
            ("XML", "xml"),
            ("application/json", "json"),
            ("application/atom+xml", "atom"),
        ],
    )
    def test_format(self, value: str, expected: str) -> None:
        assert parse_query_options({"$format": value}).format == expected

    @pytest.mark.parametrize(
        ("params", "option", "message"),
        [
            ({"$top": "-1"}, "$top", "'-1' is not a whole number"),
            ({"$top": "five"}, "$top", "not a whole number"),
            ({"$skip": "1.5"}, "$skip", "not a whole number"),
            ({"$skip": "²"}, "$skip", "not a whole number"),
            ({"$inlinecount": "some"}, "$inlinecount", "not allpages or none"),
            ({"$select": "Key,,Value"}, "$select", "an empty item"),
            ({"$select": "Key/Sub"}, "$select", "'Key/Sub' is not a property name"),
            ({"$format": "csv"}, "$format", "'csv' is not atom, json or xml"),
            ({"$expand": "Owner"}, "$expand", "is not supported"),
            ({"$bogus": "1"}, "$bogus", "unknown system query option"),
            ([("$top", "1"), ("$top", "2")], "$top", "given more than once"),
        ],
    )
    def test_errors_name_the_option(self, params: object, option: str, message: str) -> None:
        with pytest.raises(QueryOptionError, match=message) as caught:
            parse_query_options(params)  # type: ignore[arg-type]
        assert caught.value.option == option
        assert str(caught.value).startswith(option + ":")
        assert isinstance(caught.value, InvalidRequest)

    def test_filter_and_orderby_errors_come_from_the_query_parser(self) -> None:
        with pytest.raises(QuerySyntaxError):
            parse_query_options({"$filter": "Key eq"})
        with pytest.raises(QuerySyntaxError):
            parse_query_options({"$orderby": "Key sideways"})

    def test_check_select(self) -> None:
        entity_type = STRING_SET.entity_type
        assert check_select(None, entity_type) is None
        assert check_select(("Key",), entity_type) == ("Key",)
        with pytest.raises(QueryOptionError, match="has no property 'Nope'"):
            check_select(("Key", "Nope"), entity_type)


def test_next_link_repeats_the_query_but_not_top_and_skip() -> None:
    options = parse_query_options(
        {
            "$filter": "startswith(Key,'p') and Value eq 'a b'",
            "$orderby": "Expires desc,Key",
            "$select": "Key,Value",
            "$top": "150",
            "$skip": "130",
            "$inlinecount": "allpages",
            "$format": "json",
        }
    )
    link = next_link("KeyValuePairs", options, "E6")
    assert link == (
        "KeyValuePairs?$filter=startswith(Key%2C'p')%20and%20Value%20eq%20'a%20b'"
        "&$select=Key%2CValue&$orderby=Expires%20desc%2CKey&$inlinecount=allpages"
        "&$format=json&$skiptoken=E6"
    )
    assert next_link("S", QueryOptions(), "a&b") == "S?$skiptoken=a%26b"
    assert next_link("S", QueryOptions(), "10", top=20) == "S?$top=20&$skiptoken=10"
