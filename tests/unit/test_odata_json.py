"""revkv.http._odata.jsonfmt: OData 2 verbose JSON documents and request bodies."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from revkv.errors import SchemaViolation
from revkv.http._odata import jsonfmt
from revkv.http._odata.entities import Entity
from revkv.http._odata.schema import (
    CommitField,
    EntitySet,
    EntityType,
    Property,
    default_entity_type,
    service_model,
)
from revkv.http._odata.xmlns import XML_INVALID
from revkv.query import EdmType

UTC = dt.UTC
ROOT = "http://localhost:8080/"
KV_TYPE = EntityType(
    "MemCacheSchema",
    "KeyValuePair",
    "Key",
    (
        Property("Key", EdmType.STRING, False, 256, commit_field=CommitField.KEY),
        Property("Value", EdmType.STRING, False, 8192),
        Property("Expires", EdmType.DATETIME, False, precision=3, commit_field=CommitField.EXPIRES),
        Property("Count", EdmType.INT64),
        Property("Price", EdmType.DECIMAL),
    ),
    expiry="Expires",
)
KV = EntitySet("KeyValuePairs", KV_TYPE, "MemCache", "MemCacheSchema")
EXPIRES = dt.datetime.fromtimestamp(1392679105.162, UTC)


def entity(key: str = "25", **values: Any) -> Entity:
    base = {"Key": key, "Value": "Z", "Expires": EXPIRES, "Count": None, "Price": None}
    return Entity(KV, {**base, **values}, version=3)


def test_the_seeds_entity_as_json() -> None:
    body = jsonfmt.entry_json(entity(Count=7, Price=Decimal("1.50")), ROOT)
    assert body == (
        b'{"d":{"__metadata":{"uri":"http://localhost:8080/KeyValuePairs(\'25\')",'
        b'"type":"MemCacheSchema.KeyValuePair","etag":"W/\\"3\\""},"Key":"25","Value":"Z",'
        b'"Expires":"\\/Date(1392679105162)\\/","Count":"7","Price":"1.50"}}'
    )
    assert json.loads(body)["d"]["Expires"] == "/Date(1392679105162)/"


def test_only_dates_have_escaped_slashes() -> None:
    body = jsonfmt.entry_json(entity(Value="/Date(1)/ a/b"), ROOT)
    assert b'"Value":"/Date(1)/ a/b"' in body


def test_select_and_unicode() -> None:
    body = jsonfmt.entry_json(entity(key="ü€", Value="ü"), ROOT, select=["Value"])
    document = json.loads(body)
    assert list(document["d"]) == ["__metadata", "Value"]
    assert document["d"]["__metadata"]["uri"] == ROOT + "KeyValuePairs('%C3%BC%E2%82%AC')"
    assert "ü".encode() in body


def test_feed() -> None:
    body = jsonfmt.feed_json(
        [entity("1"), entity("2")],
        ROOT.rstrip("/"),
        count=26,
        next_link="KeyValuePairs?$skiptoken=2",
    )
    document = json.loads(body)["d"]
    assert [e["Key"] for e in document["results"]] == ["1", "2"]
    assert document["__count"] == "26"
    assert document["__next"] == ROOT + "KeyValuePairs?$skiptoken=2"
    assert json.loads(jsonfmt.feed_json([], ROOT)) == {"d": {"results": []}}
    absolute = jsonfmt.feed_json([], ROOT, next_link="http://other/x")
    assert json.loads(absolute)["d"]["__next"] == "http://other/x"


def test_service_property_and_error_documents() -> None:
    model = service_model(None, ["diary"])
    assert jsonfmt.service_json(model) == b'{"d":{"EntitySets":["diary"]}}'
    assert jsonfmt.property_json(KV_TYPE["Value"], "ZZ") == b'{"d":{"results":{"Value":"ZZ"}}}'
    assert jsonfmt.property_json(KV_TYPE["Value"], "ZZ", version=1) == b'{"d":{"Value":"ZZ"}}'
    assert jsonfmt.feed_json([], "http://h/", version=1) == b'{"d":[]}'
    value = jsonfmt.parse_property_json(b'{"d":{"results":{"Value":"ZZ"}}}', KV_TYPE["Value"])
    assert value == "ZZ"
    assert jsonfmt.property_json(KV_TYPE["Expires"], EXPIRES) == (
        b'{"d":{"results":{"Expires":"\\/Date(1392679105162)\\/"}}}'
    )
    assert json.loads(jsonfmt.error_json("Bad", "it's <bad>")) == {
        "error": {"code": "Bad", "message": {"lang": "en-US", "value": "it's <bad>"}}
    }


def test_dumps_refuses_nan() -> None:
    with pytest.raises(ValueError, match="Out of range float"):
        jsonfmt.dumps({"x": float("nan")})
    assert jsonfmt.dumps([1, (True, None)]) == b"[1,[true,null]]"


class TestParseEntityJson:
    def test_an_entity_read_back(self) -> None:
        original = entity(Count=2**62, Price=Decimal("0.10000000000000000001"))
        values = jsonfmt.parse_entity_json(jsonfmt.entry_json(original, ROOT), KV_TYPE)
        assert values == original.values

    def test_plain_object_with_numbers_and_iso_dates(self) -> None:
        body = b'{"Key":"k","Value":"v","Expires":"2014-02-17T23:18:25.162Z","Count":5,"Price":0.1}'
        assert jsonfmt.parse_entity_json(body, KV_TYPE) == {
            "Key": "k",
            "Value": "v",
            "Expires": EXPIRES,
            "Count": 5,
            "Price": Decimal("0.1"),
        }

    def test_server_set_properties_are_skipped(self) -> None:
        diary = default_entity_type("diary")
        body = '{"Key":"k","Version":"7","Mtime":"\\/Date(0)\\/","Author":null,"Value":"v"}'
        assert jsonfmt.parse_entity_json(body, diary) == {"Key": "k", "Value": "v"}

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ("{", "not valid JSON"),
            (b"\xff", "not valid JSON"),
            ("[1]", "must be a JSON object"),
            ('{"Nope":1}', "has no property 'Nope'"),
            ('{"Count":"x"}', "'Count'"),
            ('{"Value":null}', "not nullable"),
            ('{"Expires":"\\/Date(x)\\/"}', "/Date"),
            ('{"Value":"a\\u0001"}', "cannot be carried in Atom XML"),
        ],
    )
    def test_bad_bodies(self, body: str | bytes, message: str) -> None:
        with pytest.raises(SchemaViolation, match=message):
            jsonfmt.parse_entity_json(body, KV_TYPE)

    def test_d_wrapper(self) -> None:
        wrapped = '{"d":{"Value":"v"}}'
        assert jsonfmt.parse_entity_json(wrapped, KV_TYPE) == {"Value": "v"}
        own_d = EntityType("S", "T", "d", (Property("d", EdmType.STRING, False),))
        assert jsonfmt.parse_entity_json('{"d":"x"}', own_d) == {"d": "x"}

    def test_one_property(self) -> None:
        assert jsonfmt.parse_property_json('{"Value":"v"}', KV_TYPE["Value"]) == "v"
        assert jsonfmt.parse_property_json('{"d":{"Count":"5"}}', KV_TYPE["Count"]) == 5
        with pytest.raises(SchemaViolation, match="expected"):
            jsonfmt.parse_property_json('{"Value":"v","Key":"k"}', KV_TYPE["Value"])


@given(
    st.text(st.characters(codec="utf-8"), max_size=30).filter(lambda s: not XML_INVALID.search(s)),
    st.none() | st.integers(-(2**63), 2**63 - 1),
    st.datetimes(timezones=st.just(UTC)).map(
        lambda m: m.replace(microsecond=m.microsecond // 1000 * 1000)
    ),
)
def test_entities_round_trip(value: str, count: int | None, expires: dt.datetime) -> None:
    original = entity(Value=value, Count=count, Expires=expires)
    back = jsonfmt.parse_entity_json(jsonfmt.entry_json(original, ROOT), KV_TYPE)
    assert back == original.values
