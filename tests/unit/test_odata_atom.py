"""revkv.http._odata.atom: the Atom/AtomPub documents, and parsing entries clients send.

The request bodies below are verbatim what Pyslet 0.7.20170805's client sent, and the
entry what its server wrote (captured on the wire, /work/notes/pyslet/wire-log.txt)."""

from __future__ import annotations

import datetime as dt
import uuid
import xml.etree.ElementTree as ET
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from revkv.errors import SchemaViolation
from revkv.http._odata import atom
from revkv.http._odata.entities import Entity
from revkv.http._odata.schema import (
    CommitField,
    EntitySet,
    EntityType,
    Property,
    default_entity_type,
    service_model,
)
from revkv.http._odata.xmlns import XmlError
from revkv.query import EdmType

UTC = dt.UTC
A = "{http://www.w3.org/2005/Atom}"
APP = "{http://www.w3.org/2007/app}"
D = "{http://schemas.microsoft.com/ado/2007/08/dataservices}"
M = "{http://schemas.microsoft.com/ado/2007/08/dataservices/metadata}"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
SCHEME = "http://schemas.microsoft.com/ado/2007/08/dataservices/scheme"
ROOT = "http://127.0.0.1:18301/"

KV_TYPE = EntityType(
    "MemCacheSchema",
    "KeyValuePair",
    "Key",
    (
        Property("Key", EdmType.STRING, False, 256, commit_field=CommitField.KEY),
        Property("Value", EdmType.STRING, False, 8192),
        Property("Expires", EdmType.DATETIME, False, precision=3, commit_field=CommitField.EXPIRES),
    ),
    expiry="Expires",
)
KV = EntitySet("KeyValuePairs", KV_TYPE, "MemCache", "MemCacheSchema")
EXPIRES = dt.datetime(2026, 11, 23, 12, 8, 14, 545000, tzinfo=UTC)
ENTITY = Entity(KV, {"Key": "25", "Value": "ZZ", "Expires": EXPIRES}, 3, 1795435694.5, "alice")

PYSLET_POST = b"""<?xml version="1.0" encoding="UTF-8"?>
<entry xmlns="http://www.w3.org/2005/Atom" xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices" xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata">
\t<id>http://127.0.0.1:18301/KeyValuePairs('0')</id>
\t<title type="text"/>
\t<updated>2026-11-23T12:12:03Z</updated>
\t<category scheme="http://schemas.microsoft.com/ado/2007/08/dataservices/scheme" term="MemCacheSchema.KeyValuePair"/>
\t<content type="application/xml"><m:properties><d:Key>0</d:Key><d:Value>A</d:Value><d:Expires>2026-11-23T12:12:03.067</d:Expires></m:properties></content>
</entry>"""  # noqa: E501 (verbatim from the wire)

PYSLET_SERVER_ENTRY = b"""<?xml version="1.0" encoding="UTF-8"?>
<entry xmlns="http://www.w3.org/2005/Atom" xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices" xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata" xml:base="http://127.0.0.1:18301/">
\t<id>http://127.0.0.1:18301/KeyValuePairs('25')</id>
\t<title type="text"/>
\t<updated>2026-11-23T12:04:06Z</updated>
\t<link href="http://127.0.0.1:18301/KeyValuePairs('25')" rel="edit"/>
\t<category scheme="http://schemas.microsoft.com/ado/2007/08/dataservices/scheme" term="MemCacheSchema.KeyValuePair"/>
\t<content type="application/xml"><m:properties><d:Key>25</d:Key><d:Value>ZZ</d:Value><d:Expires>2026-11-23T12:08:14.545</d:Expires></m:properties></content>
</entry>"""  # noqa: E501 (verbatim from the wire)


def entry_body(properties: str, *, content: bool = True) -> str:
    props = f"<m:properties>{properties}</m:properties>"
    body = f'<content type="application/xml">{props}</content>' if content else props
    return (
        f'<entry xmlns="{A[1:-1]}" xmlns:d="{D[1:-1]}" xmlns:m="{M[1:-1]}"><title/>{body}</entry>'
    )


class TestParseEntry:
    def test_what_pyslets_client_posts(self) -> None:
        assert atom.parse_entry(PYSLET_POST, KV_TYPE) == {
            "Key": "0",
            "Value": "A",
            "Expires": dt.datetime(2026, 11, 23, 12, 12, 3, 67000, tzinfo=UTC),
        }

    def test_what_pyslets_server_writes(self) -> None:
        values = atom.parse_entry(PYSLET_SERVER_ENTRY, KV_TYPE)
        assert values == {"Key": "25", "Value": "ZZ", "Expires": EXPIRES}

    def test_a_merge_sends_a_subset(self) -> None:
        body = entry_body("<d:Key>24</d:Key><d:Value>YY</d:Value>")
        assert atom.parse_entry(body, KV_TYPE) == {"Key": "24", "Value": "YY"}

    def test_null_type_and_text_as_given(self) -> None:
        body = entry_body(
            '<d:Value m:type="Edm.Int32"> a\n\tb </d:Value>'
            '<d:Expires m:null="true"/><d:Key><![CDATA[<x>]]></d:Key>'
        )
        with pytest.raises(SchemaViolation, match=r"'Expires' .* is not nullable"):
            atom.parse_entry(body, KV_TYPE)
        body = entry_body(
            '<d:Value m:type="Edm.Int32"> a\n\tb </d:Value><d:Key><![CDATA[<x>]]></d:Key>'
        )
        assert atom.parse_entry(body, KV_TYPE) == {"Value": " a\n\tb ", "Key": "<x>"}
        assert atom.parse_entry(entry_body("<d:Value/>"), KV_TYPE) == {"Value": ""}

    def test_the_media_link_form_and_no_properties(self) -> None:
        body = entry_body("<d:Key>k</d:Key>", content=False)
        assert atom.parse_entry(body, KV_TYPE) == {"Key": "k"}
        assert atom.parse_entry(f'<entry xmlns="{A[1:-1]}"/>', KV_TYPE) == {}

    def test_server_set_properties_are_skipped_before_reading(self) -> None:
        diary = default_entity_type("diary")
        body = entry_body(
            "<d:Key>k</d:Key><d:Value>v</d:Value>"
            '<d:Version m:null="true"/><d:Mtime>garbage</d:Mtime><d:Author m:null="true"/>'
            "<d:Comment>why</d:Comment>"
        )
        assert atom.parse_entry(body, diary) == {"Key": "k", "Value": "v", "Comment": "why"}

    def test_binary_in_base64_or_hex(self) -> None:
        blobs = default_entity_type("blobs", binary=True)
        assert atom.parse_entry(entry_body("<d:Value>AAH/</d:Value>"), blobs) == {
            "Value": b"\0\1\xff"
        }
        hexed = atom.parse_entry(entry_body("<d:Value>0001FF</d:Value>"), blobs, hex_binary=True)
        assert hexed == {"Value": b"\0\1\xff"}

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ("<entry", "not a usable Atom entry: not well-formed XML at line 1"),
            ('<!DOCTYPE e [<!ENTITY x "y">]><entry/>', "DOCTYPE"),
            (f'<feed xmlns="{A[1:-1]}"/>', "must be an Atom <entry>"),
            ("<entry/>", "must be an Atom <entry>"),
            (entry_body("<d:Nope>1</d:Nope>"), "KeyValuePair has no property 'Nope'"),
            (entry_body("<d:Key>a</d:Key><d:Key>b</d:Key>"), "'Key' is given twice"),
            (entry_body("<d:Value><d:Sub/></d:Value>"), "holds elements"),
            (
                entry_body("<d:Expires>tomorrow</d:Expires>"),
                "'Expires': 'tomorrow' is not a Edm.DateTime",
            ),
            (entry_body(f"<d:Key>{'k' * 257}</d:Key>"), "longer than its MaxLength of 256"),
            (
                entry_body("<d:Key>a</d:Key>") + entry_body(""),
                "not well-formed XML",
            ),
        ],
    )
    def test_bad_bodies_say_what_is_wrong(self, body: str, message: str) -> None:
        with pytest.raises(SchemaViolation, match=message):
            atom.parse_entry(body, KV_TYPE)

    def test_two_property_blocks_are_refused(self) -> None:
        props = "<m:properties><d:Key>a</d:Key></m:properties>"
        body = entry_body("<d:Key>b</d:Key>").replace("</entry>", props + "</entry>")
        with pytest.raises(SchemaViolation, match="more than one m:properties"):
            atom.parse_entry(body, KV_TYPE)


def test_entry_document_shape() -> None:
    entry = ET.fromstring(atom.entry_xml(ENTITY, ROOT))
    assert entry.tag == A + "entry"
    assert entry.get(XML_BASE) == ROOT
    assert entry.get(M + "etag") == 'W/"3"'
    assert [child.tag[len(A) :] for child in entry] == [
        "id",
        "title",
        "updated",
        "author",
        "link",
        "category",
        "content",
    ]
    assert entry.findtext(A + "id") == ROOT + "KeyValuePairs('25')"
    assert entry.find(A + "title").get("type") == "text"  # type: ignore[union-attr]
    assert entry.findtext(A + "updated") == "2026-11-23T12:08:14.500Z"
    assert entry.findtext(f"{A}author/{A}name") == "alice"
    link = entry.find(A + "link")
    assert link is not None
    assert link.attrib == {"rel": "edit", "title": "KeyValuePair", "href": "KeyValuePairs('25')"}
    category = entry.find(A + "category")
    assert category is not None
    assert category.attrib == {"term": "MemCacheSchema.KeyValuePair", "scheme": SCHEME}
    content = entry.find(A + "content")
    assert content is not None
    assert content.get("type") == "application/xml"
    properties = content.find(M + "properties")
    assert properties is not None
    assert [(p.tag, p.text, p.attrib) for p in properties] == [
        (D + "Key", "25", {}),
        (D + "Value", "ZZ", {}),
        (D + "Expires", "2026-11-23T12:08:14.545", {M + "type": "Edm.DateTime"}),
    ]


def test_entry_text_starts_like_pyslets() -> None:
    text = atom.entry_xml(ENTITY, ROOT).decode()
    assert text.startswith(
        '<?xml version="1.0" encoding="utf-8"?>\n<entry xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices" '
        'xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata" '
        'm:etag="W/&quot;3&quot;"'
    )
    assert "<d:Key>25</d:Key><d:Value>ZZ</d:Value>" in text


def test_entry_select_null_and_no_version() -> None:
    entity = Entity(KV, {"Key": "k", "Value": None, "Expires": None})
    entry = ET.fromstring(atom.entry_xml(entity, ROOT.rstrip("/"), select=["Expires", "Value"]))
    assert entry.get(XML_BASE) == ROOT
    assert entry.get(M + "etag") is None
    assert entry.findtext(f"{A}author/{A}name") == ""
    properties = entry.find(f"{A}content/{M}properties")
    assert properties is not None
    assert [(p.tag, p.get(M + "null")) for p in properties] == [
        (D + "Value", "true"),
        (D + "Expires", "true"),
    ]


def test_feed_document_shape() -> None:
    other = Entity(KV, {"Key": "it's", "Value": "x", "Expires": EXPIRES}, 1, 0.0)
    body = atom.feed_xml(
        KV, [ENTITY, other], ROOT, updated=0.0, count=150, next_link="KeyValuePairs?$skiptoken=64"
    )
    feed = ET.fromstring(body)
    assert feed.get(XML_BASE) == ROOT
    tags = [child.tag.rpartition("}")[2] for child in feed]
    assert tags == ["id", "title", "updated", "link", "count", "entry", "entry", "link"]
    assert feed.findtext(A + "id") == ROOT + "KeyValuePairs"
    assert feed.findtext(A + "title") == "MemCacheSchema.MemCache.KeyValuePairs"
    assert feed.findtext(A + "updated") == "1970-01-01T00:00:00.000Z"
    self_link, next_link = feed.findall(A + "link")
    assert (self_link.get("rel"), self_link.get("href")) == ("self", "KeyValuePairs")
    assert (next_link.get("rel"), next_link.get("href")) == ("next", "KeyValuePairs?$skiptoken=64")
    assert feed.findtext(M + "count") == "150"
    entries = feed.findall(A + "entry")
    assert entries[1].findtext(A + "id") == ROOT + "KeyValuePairs('it''s')"
    assert all(e.get(XML_BASE) is None for e in entries)


def test_an_empty_feed_as_in_the_seed() -> None:
    feed = ET.fromstring(atom.feed_xml(KV, [], "http://localhost:8080/", updated=0.0))
    assert [c.tag.rpartition("}")[2] for c in feed] == ["id", "title", "updated", "link"]


def test_entries_read_back_through_parse_entry() -> None:
    feed = ET.fromstring(atom.feed_xml(KV, [ENTITY], ROOT, updated=0.0))
    entry = feed.find(A + "entry")
    assert entry is not None
    assert atom.parse_entry(ET.tostring(entry), KV_TYPE) == ENTITY.values


def test_service_document_shape() -> None:
    model = service_model(None, ["diary", "blobs"])
    service = ET.fromstring(atom.service_xml(model, "http://h/odata"))
    assert service.tag == APP + "service"
    assert service.get(XML_BASE) == "http://h/odata/"
    workspace = service.find(APP + "workspace")
    assert workspace is not None
    assert workspace.findtext(A + "title") == "Default"
    collections = workspace.findall(APP + "collection")
    assert [(c.get("href"), c.findtext(A + "title")) for c in collections] == [
        ("blobs", "blobs"),
        ("diary", "diary"),
    ]


def test_property_and_error_documents() -> None:
    body = atom.property_xml(KV_TYPE["Value"], "ZZ").decode()
    assert body.endswith(
        '<d:Value xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices" '
        'xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata">ZZ</d:Value>'
    )
    assert atom.parse_property(body.encode(), KV_TYPE["Value"]) == "ZZ"
    assert (
        atom.parse_property(atom.property_xml(KV_TYPE["Expires"], EXPIRES), KV_TYPE["Expires"])
        == EXPIRES
    )
    with pytest.raises(SchemaViolation, match="expected a <d:Expires> element"):
        atom.parse_property(body, KV_TYPE["Expires"])
    error = ET.fromstring(atom.error_xml("Resource not found", "no 'x' & <y>"))
    assert error.tag == M + "error"
    assert error.findtext(M + "code") == "Resource not found"
    message = error.find(M + "message")
    assert message is not None
    assert message.text == "no 'x' & <y>"
    assert message.get("{http://www.w3.org/XML/1998/namespace}lang") == "en-US"


def test_text_that_xml_cannot_carry_is_refused_not_written_broken() -> None:
    entity = Entity(KV, {"Key": "k", "Value": "a\x01", "Expires": EXPIRES})
    with pytest.raises(XmlError, match="U\\+0001"):
        atom.entry_xml(entity, ROOT)


def test_escaping_of_text_and_attributes() -> None:
    entity = Entity(KV, {"Key": 'a"<&>\r\n', "Value": "]]> \r & <", "Expires": EXPIRES}, 1)
    entry = ET.fromstring(atom.entry_xml(entity, ROOT))
    assert atom.parse_entry(atom.entry_xml(entity, ROOT), KV_TYPE)["Value"] == "]]> \r & <"
    link = entry.find(A + "link")
    assert link is not None
    assert link.get("href") == "KeyValuePairs('a%22%3C%26%3E%0D%0A')"


RICH = EntityType(
    "Rich",
    "Thing",
    "Id",
    (
        Property("Id", EdmType.INT32, False, commit_field=CommitField.KEY),
        Property("Flag", EdmType.BOOLEAN),
        Property("Big", EdmType.INT64),
        Property("Ratio", EdmType.DOUBLE),
        Property("Single", EdmType.SINGLE),
        Property("Price", EdmType.DECIMAL),
        Property("Uid", EdmType.GUID),
        Property("When", EdmType.DATETIME, precision=3),
        Property("Stamp", EdmType.DATETIMEOFFSET, precision=3),
        Property("At", EdmType.TIME),
        Property("Blob", EdmType.BINARY),
        Property("Name", EdmType.STRING),
    ),
)
RICH_SET = EntitySet("Things", RICH, "Box", "Rich")


@given(
    st.fixed_dictionaries(
        {
            "Id": st.integers(-(2**31), 2**31 - 1),
            "Flag": st.none() | st.booleans(),
            "Big": st.none() | st.integers(-(2**63), 2**63 - 1),
            "Ratio": st.none() | st.floats(allow_nan=False),
            "Single": st.none() | st.sampled_from([0.5, -2.0, 1e10, 3.0e38]),
            "Price": st.none() | st.decimals(allow_nan=False, allow_infinity=False, places=3),
            "Uid": st.none() | st.uuids(),
            "When": st.none()
            | st.datetimes(timezones=st.just(UTC)).map(
                lambda m: m.replace(microsecond=m.microsecond // 1000 * 1000)
            ),
            "Stamp": st.none()
            | st.datetimes(
                min_value=dt.datetime(2, 1, 1),
                max_value=dt.datetime(9998, 1, 1),
                timezones=st.just(dt.timezone(dt.timedelta(hours=2))),
            ).map(lambda m: m.replace(microsecond=0)),
            "At": st.none() | st.timedeltas(dt.timedelta(0), dt.timedelta(hours=23)),
            "Blob": st.none() | st.binary(max_size=20),
            "Name": st.none()
            | st.text(st.characters(codec="utf-8", blacklist_categories=("Cc", "Cs"))),
        }
    ),
    st.booleans(),
)
def test_every_type_round_trips_through_an_entry(values: dict[str, Any], hex_binary: bool) -> None:
    entity = Entity(RICH_SET, values, 1, 0.0)
    body = atom.entry_xml(entity, ROOT, hex_binary=hex_binary)
    assert atom.parse_entry(body, RICH, hex_binary=hex_binary) == values


def test_rich_entry_types_are_marked() -> None:
    values = {
        "Id": 1,
        "Flag": True,
        "Big": 2,
        "Ratio": 1.5,
        "Single": 0.5,
        "Price": Decimal("1.5"),
        "Uid": uuid.UUID(int=1),
        "When": None,
        "Stamp": None,
        "At": None,
        "Blob": b"",
        "Name": "n",
    }
    entry = ET.fromstring(atom.entry_xml(Entity(RICH_SET, values), ROOT))
    properties = entry.find(f"{A}content/{M}properties")
    assert properties is not None
    marked = {p.tag[len(D) :]: p.get(M + "type") for p in properties}
    assert marked["Id"] == "Edm.Int32"
    assert marked["Price"] == "Edm.Decimal"
    assert marked["Name"] is None
    assert entry.findtext(A + "id") == ROOT + "Things(1)"
