"""revkv.http._odata.entities: entities from commits, and commit parts from entities."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from revkv._model import DEFAULT, Commit
from revkv.errors import SchemaViolation
from revkv.http._odata.entities import (
    Entity,
    Write,
    check_entity,
    entity_from_commit,
    etag,
    ignored_on_write,
    version_of_etag,
    write_of,
)
from revkv.http._odata.schema import (
    CommitField,
    EntitySet,
    EntityType,
    Property,
    default_entity_type,
)
from revkv.query import EdmType, compile_filter, parse_filter

UTC = dt.UTC
MOMENT = dt.datetime(2026, 11, 23, 8, 11, 42, 642000, tzinfo=UTC)

KV_TYPE = EntityType(
    "MemCacheSchema",
    "KeyValuePair",
    "Key",
    (
        Property("Key", EdmType.STRING, False, 256, commit_field=CommitField.KEY),
        Property("Value", EdmType.STRING, False, 8192),
        Property("Price", EdmType.DECIMAL),
        Property("Expires", EdmType.DATETIME, False, precision=3, commit_field=CommitField.EXPIRES),
    ),
    expiry="Expires",
)
KV = EntitySet("KeyValuePairs", KV_TYPE, "MemCache", "MemCacheSchema")
DIARY = EntitySet("diary", default_entity_type("diary"), "revkv", "revkv")
BLOBS = EntitySet("blobs", default_entity_type("blobs", binary=True), "revkv", "revkv")


def commit(key: str, payload: bytes, *, expires: float | None = None, version: int = 3) -> Commit:
    return Commit(
        "ns", key, version, 17, 1795435694.545, "alice", "why", expires, False, payload=payload
    )


def test_a_json_payload_becomes_the_entity() -> None:
    entity = entity_from_commit(
        KV, commit("25", b'{"Value":"ZZ","Price":"1.50","Other":1}', expires=MOMENT.timestamp())
    )
    assert entity.values == {
        "Key": "25",
        "Value": "ZZ",
        "Price": Decimal("1.50"),
        "Expires": MOMENT,
    }
    assert list(entity.values) == ["Key", "Value", "Price", "Expires"]
    assert (entity.key, entity.version, entity.etag, entity.author) == ("25", 3, 'W/"3"', "alice")
    assert entity.updated == 1795435694.545
    assert entity.entity_type is KV_TYPE


def test_the_values_are_the_record_filters_run_on() -> None:
    entity = entity_from_commit(KV, commit("25", b'{"Value":"ZZ"}', expires=MOMENT.timestamp()))
    text = "Expires lt datetime'2026-11-24T00:00:00' and Value eq 'ZZ' and Price eq null"
    assert compile_filter(parse_filter(text))(entity.values)


def test_members_missing_from_the_payload_read_as_null() -> None:
    entity = entity_from_commit(KV, commit("k", b"{}"))
    assert entity.values["Value"] is None
    assert entity.values["Expires"] is None


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"[1]", "does not hold a JSON object"),
        (b"not json", "does not hold a JSON object"),
        (
            b'{"Value": 5}',
            "key 'k' of 'KeyValuePairs' does not fit its entity type: property 'Value'",
        ),
        (b'{"Price": "lots"}', "'Price'"),
    ],
)
def test_a_payload_that_does_not_fit_names_the_key(payload: bytes, message: str) -> None:
    with pytest.raises(SchemaViolation, match=message):
        entity_from_commit(KV, commit("k", payload))


def test_the_default_type_shows_the_commit() -> None:
    entity = entity_from_commit(DIARY, commit("a/b", "héllo".encode(), expires=MOMENT.timestamp()))
    assert entity.values == {
        "Key": "a/b",
        "Value": "héllo",
        "Version": 3,
        "Author": "alice",
        "Comment": "why",
        "Mtime": dt.datetime.fromtimestamp(1795435694.545, UTC),
        "Expires": MOMENT,
    }
    assert entity_from_commit(BLOBS, commit("b", b"\xff\x00")).values["Value"] == b"\xff\x00"
    with pytest.raises(SchemaViolation, match="not UTF-8 text; serve the namespace as binary"):
        entity_from_commit(DIARY, commit("b", b"\xff\x00"))


def test_other_commit_fields_and_key_types() -> None:
    entity_type = EntityType(
        "S",
        "T",
        "Id",
        (
            Property("Id", EdmType.INT64, False, commit_field=CommitField.KEY),
            Property("Rev", EdmType.INT64, commit_field=CommitField.REV),
        ),
    )
    entity = entity_from_commit(EntitySet("T", entity_type, "C", "S"), commit("42", b""))
    assert entity.values == {"Id": 42, "Rev": 17}


class TestCheckEntity:
    def test_complete_needs_every_non_nullable_property_the_client_owns(self) -> None:
        given = {"Key": "k", "Value": "v", "Expires": MOMENT}
        assert check_entity(KV_TYPE, given, complete=True) == given
        with pytest.raises(
            SchemaViolation, match=r"'Expires' .* is not nullable and was not given"
        ):
            check_entity(KV_TYPE, {"Key": "k", "Value": "v"}, complete=True)
        assert check_entity(KV_TYPE, {"Value": "v"}, complete=False) == {"Value": "v"}

    def test_server_set_properties_are_dropped_and_author_is_optional(self) -> None:
        sent = {"Key": "k", "Value": "v", "Version": 99, "Mtime": MOMENT}
        assert check_entity(DIARY.entity_type, sent, complete=True) == {"Key": "k", "Value": "v"}

    def test_unknown_and_bad_values_are_refused(self) -> None:
        with pytest.raises(
            SchemaViolation, match=r"KeyValuePair has no property 'Nope' .it has Key"
        ):
            check_entity(KV_TYPE, {"Nope": 1}, complete=False)
        with pytest.raises(SchemaViolation, match="'Value'"):
            check_entity(KV_TYPE, {"Value": 5}, complete=False)

    def test_ignored_on_write(self) -> None:
        diary = DIARY.entity_type
        assert ignored_on_write(diary["Version"], null=False)
        assert ignored_on_write(diary["Author"], null=True)
        assert not ignored_on_write(diary["Author"], null=False)
        assert not ignored_on_write(diary["Expires"], null=True)


class TestWriteOf:
    def test_json_payload_and_expiry(self) -> None:
        write = write_of(KV_TYPE, {"Key": "25", "Value": "ZZ", "Expires": MOMENT})
        assert write == Write("25", b'{"Value":"ZZ","Price":null}', MOMENT.timestamp())

    def test_payload_round_trips(self) -> None:
        values = {"Key": "k", "Value": "ü", "Price": Decimal("0.10"), "Expires": MOMENT}
        write = write_of(KV_TYPE, values)
        back = entity_from_commit(KV, commit(write.key, write.payload, expires=MOMENT.timestamp()))
        assert back.values == values

    def test_default_type(self) -> None:
        write = write_of(DIARY.entity_type, {"Key": "k", "Value": "text", "Author": "bob"})
        assert write == Write("k", b"text", DEFAULT, "bob", None)
        never = write_of(DIARY.entity_type, {"Key": "k", "Value": "t", "Expires": None})
        assert never.expires is None
        blob = write_of(BLOBS.entity_type, {"Key": "k", "Value": b"\x00", "Comment": "c"})
        assert (blob.payload, blob.comment) == (b"\x00", "c")

    def test_the_key_is_required(self) -> None:
        with pytest.raises(SchemaViolation, match="key property 'Key' was not given"):
            write_of(KV_TYPE, {"Value": "v"})


def test_etags() -> None:
    assert etag(3) == 'W/"3"'
    assert version_of_etag('W/"3"') == 3
    assert version_of_etag(' "12" ') == 12
    for bad in ("*", 'W/"x"', "3", 'W/""', ""):
        assert version_of_etag(bad) is None
    assert Entity(KV, {"Key": "k"}).etag is None
