"""The OData door in process, writing: POST, PUT, MERGE, DELETE, properties, If-Match,
expiry, authors, and the errors of each."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

import revkv
from revkv._auth import Auth
from revkv._config import Settings, Token
from revkv._service import Service
from revkv.http._odata import ODataDoor, odata_mount
from tests.asgi import asgi_client
from tests.unit.test_odata_door import (
    ATOM,
    FUTURE_SECONDS,
    KVP,
    D,
    M,
    assert_error,
    entry,
    make_app,
    put_entities,
)

pytestmark = pytest.mark.asyncio

ATOM_ENTRY = {"Content-Type": "application/atom+xml; type=entry"}


@pytest_asyncio.fixture
async def client(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(make_app(service)) as client:
        yield client


async def post(client: httpx.AsyncClient, body: str, **headers: str) -> httpx.Response:
    return await client.post(KVP, content=body, headers={**ATOM_ENTRY, **headers})


# -- POST ----------------------------------------------------------------------------------


async def test_post_creates_a_commit_and_answers_the_entry(
    client: httpx.AsyncClient, service: Service
) -> None:
    response = await post(client, entry("25", " a\n\tb ", "2030-01-01T00:00:00.250"))
    assert response.status_code == 201, response.text
    assert response.headers["location"] == "http://test/odata/KeyValuePairs('25')"
    assert response.headers["etag"] == 'W/"1"'
    assert response.headers["content-type"] == "application/atom+xml;type=entry"
    properties = ET.fromstring(response.content).find(f"{ATOM}content/{M}properties")
    assert properties is not None
    assert properties.findtext(f"{D}Value") == " a\n\tb "
    commit = service.get("KeyValuePairs", "25")
    assert json.loads(commit.payload) == {"Value": " a\n\tb "}
    assert commit.expires == FUTURE_SECONDS + 0.25
    assert (commit.author, commit.comment) == ("", "odata: create")


async def test_post_json_answers_json(client: httpx.AsyncClient, service: Service) -> None:
    body = {"Key": "j", "Value": "x", "Expires": "/Date(1893456000000)/"}
    response = await client.post(
        KVP,
        content=json.dumps(body),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["d"]["Expires"] == "/Date(1893456000000)/"
    assert service.get("KeyValuePairs", "j").expires == FUTURE_SECONDS


async def test_post_of_a_live_key_is_409(client: httpx.AsyncClient) -> None:
    assert (await post(client, entry("1"))).status_code == 201
    assert_error(await post(client, entry("1", "dup")), 409, "Duplicate key", "'1'")


async def test_post_brings_back_a_deleted_or_expired_key_as_its_next_version(
    client: httpx.AsyncClient, service: Service
) -> None:
    await post(client, entry("k"))
    assert (await client.delete(KVP + "('k')")).status_code == 204
    again = await post(client, entry("k", "back"))
    assert again.headers["etag"] == 'W/"3"'
    await put_entities(service, ["gone"], expires=time.time() - 1)
    revived = await post(client, entry("gone", "again"))
    assert revived.status_code == 201, revived.text
    assert service.get("KeyValuePairs", "gone").version == 3  # 1, the expiry, this


async def test_an_entity_posted_already_expired_reads_as_absent(
    client: httpx.AsyncClient,
) -> None:
    assert (await post(client, entry("old", expires="2000-01-01T00:00:00"))).status_code == 201
    assert_error(await client.get(KVP + "('old')"), 404)


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        (entry("k", expires=None), ("'Expires'", "not nullable")),
        (entry("k", "x" * 8193), ("'Value'", "MaxLength of 8192")),
        (entry("k", expires="tomorrow"), ("'Expires'", "tomorrow")),
        (entry("k", Colour="red"), ("no property 'Colour'",)),
        ("<entry", ("not well-formed",)),
        (" ", ("body is empty",)),
        ("<feed xmlns='http://www.w3.org/2005/Atom'/>", ("Atom <entry>",)),
    ],
)
async def test_bad_bodies_are_400_naming_the_problem(
    client: httpx.AsyncClient, body: str, fragments: tuple[str, ...]
) -> None:
    assert_error(await post(client, body), 400, *fragments)


async def test_post_to_an_entity_is_405(client: httpx.AsyncClient) -> None:
    response = await client.post(KVP + "('k')", content=entry("k"), headers=ATOM_ENTRY)
    assert_error(response, 405, "POST")


# -- PUT, MERGE, DELETE --------------------------------------------------------------------


async def test_put_replaces_and_answers_the_new_etag(
    client: httpx.AsyncClient, service: Service
) -> None:
    await post(client, entry("k", "one"))
    response = await client.put(KVP + "('k')", content=entry("k", "two"), headers=ATOM_ENTRY)
    assert (response.status_code, response.headers["etag"]) == (204, 'W/"2"')
    assert response.content == b""
    commit = service.get("KeyValuePairs", "k")
    assert (json.loads(commit.payload), commit.comment) == ({"Value": "two"}, "odata: replace")
    assert_error(
        await client.put(KVP + "('k')", content=entry("k", expires=None), headers=ATOM_ENTRY),
        400,
        "'Expires'",
    )
    assert_error(
        await client.put(KVP + "('k')", content=entry("other"), headers=ATOM_ENTRY),
        400,
        "cannot change",
    )
    assert_error(
        await client.put(KVP + "('nope')", content=entry("nope"), headers=ATOM_ENTRY),
        404,
        "KeyValuePairs('nope')",
    )


@pytest.mark.parametrize(
    "send",
    [
        {"method": "MERGE"},
        {"method": "PATCH"},
        {"method": "POST", "headers": {"X-HTTP-Method": "MERGE"}},
    ],
)
async def test_merge_keeps_what_the_body_leaves_out(
    client: httpx.AsyncClient, service: Service, send: dict[str, object]
) -> None:
    await post(client, entry("k", "one", "2030-01-01T00:00:00.500"))
    body = entry("k", "two", expires=None)
    headers = {**ATOM_ENTRY, **send.get("headers", {})}  # type: ignore[dict-item]
    response = await client.request(
        str(send["method"]), KVP + "('k')", content=body, headers=headers
    )
    assert response.status_code == 204, response.text
    commit = service.get("KeyValuePairs", "k")
    assert json.loads(commit.payload) == {"Value": "two"}
    assert commit.expires == FUTURE_SECONDS + 0.5


async def test_if_match_makes_writes_compare_and_set(client: httpx.AsyncClient) -> None:
    await post(client, entry("k"))
    stale = {**ATOM_ENTRY, "If-Match": 'W/"7"'}
    stale_put = await client.put(KVP + "('k')", content=entry("k"), headers=stale)
    assert_error(stale_put, 412, 'send If-Match: W/"1"')
    fresh = {**ATOM_ENTRY, "If-Match": 'W/"1"'}
    assert (await client.put(KVP + "('k')", content=entry("k"), headers=fresh)).status_code == 204
    anything = {**ATOM_ENTRY, "If-Match": "*"}
    assert (
        await client.put(KVP + "('k')", content=entry("k"), headers=anything)
    ).status_code == 204
    assert_error(await client.delete(KVP + "('k')", headers={"If-Match": '"1"'}), 412)
    assert (await client.delete(KVP + "('k')", headers={"If-Match": '"3"'})).status_code == 204


async def test_delete_tombstones_and_keeps_history(
    client: httpx.AsyncClient, service: Service
) -> None:
    await post(client, entry("k"))
    response = await client.delete(KVP + "('k')")
    assert (response.status_code, response.content) == (204, b"")
    assert_error(await client.get(KVP + "('k')"), 404)
    assert_error(await client.delete(KVP + "('k')"), 404, "KeyValuePairs('k')")
    assert service.head("KeyValuePairs", "k").deleted
    assert service.get("KeyValuePairs", "k", 1).payload == b'{"Value":"v"}'


async def test_unreadable_entities_can_be_replaced_but_not_merged(
    client: httpx.AsyncClient, service: Service
) -> None:
    await client.get("/odata/")
    await service.aput("KeyValuePairs", "bad", b'{"Value":[1]}')
    merged = await client.request(
        "MERGE", KVP + "('bad')", content=entry("bad", "x", None), headers=ATOM_ENTRY
    )
    assert_error(merged, 422, "'bad'", "PUT")
    put = await client.put(KVP + "('bad')", content=entry("bad", "fixed"), headers=ATOM_ENTRY)
    assert put.status_code == 204
    assert (await client.get(KVP + "('bad')/Value/$value")).text == "fixed"


# -- properties ----------------------------------------------------------------------------


async def test_put_one_property_or_its_raw_value(client: httpx.AsyncClient) -> None:
    await post(client, entry("k", "one"))
    document = (
        '<d:Value xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices">two</d:Value>'
    )
    assert (await client.put(KVP + "('k')/Value", content=document)).status_code == 204
    assert (await client.get(KVP + "('k')/Value/$value")).text == "two"
    raw = await client.put(KVP + "('k')/Value/$value", content="three")
    assert (raw.status_code, raw.headers["etag"]) == (204, 'W/"3"')
    as_json = await client.put(
        KVP + "('k')/Value", json={"Value": "four"}, headers={"Content-Type": "application/json"}
    )
    assert as_json.status_code == 204
    assert (await client.get(KVP + "('k')/Value/$value")).text == "four"
    assert_error(await client.put(KVP + "('k')/Key/$value", content="x"), 400, "is the key")


# -- the default entity type: expiry, author, comment ---------------------------------------


async def test_a_null_expiry_takes_the_namespace_default_ttl(service: Service) -> None:
    await service.acreate_namespace("cache", True, default_ttl=60.0)
    transport = httpx.ASGITransport(app=make_app(service))
    body = {"Key": "k", "Value": "v", "Expires": None, "Author": "ann", "Comment": "why"}
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post(
            "/odata/cache", json=body, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 201, response.text
    commit = service.get("cache", "k")
    assert commit.expires is not None
    assert abs(commit.expires - (time.time() + 60)) < 5
    assert (commit.payload, commit.author, commit.comment) == (b"v", "ann", "why")


async def test_the_author_is_the_token_name_unless_it_may_act_for_others(
    service: Service,
) -> None:
    gateway = Token("gateway", "g" * 16, "read-write", act_as_others=True)
    service.auth = Auth((Token("deploy", "d" * 16, "read-write"), gateway))
    transport = httpx.ASGITransport(app=make_app(service))
    bearer = {**ATOM_ENTRY, "Authorization": "Bearer " + "d" * 16}
    as_ann = {"X-Revkv-Author": "ann", "X-Revkv-Comment": "c"}
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        await client.post(KVP, content=entry("a"), headers=bearer)
        refused = await client.post(KVP, content=entry("b"), headers={**bearer, **as_ann})
        headers = {**ATOM_ENTRY, "Authorization": "Bearer " + "g" * 16, **as_ann}
        await client.post(KVP, content=entry("c"), headers=headers)
    assert service.get("KeyValuePairs", "a").author == "deploy"
    assert_error(refused, 403, "may not write as 'ann'")
    assert service.get("KeyValuePairs", "b", default=None) is None
    commit = service.get("KeyValuePairs", "c")
    assert (commit.author, commit.comment) == ("ann", "c")


async def test_payload_limits_apply(service: Service) -> None:
    await service.acreate_namespace("KeyValuePairs", True, max_payload=64)
    transport = httpx.ASGITransport(app=make_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await post(client, entry("k", "x" * 100))
    assert_error(response, 413, "64")


# -- typed keys and properties -------------------------------------------------------------

PEOPLE = """<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="1.0" xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx"
    xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata">
  <edmx:DataServices m:DataServiceVersion="2.0">
    <Schema Namespace="Crm" xmlns="http://schemas.microsoft.com/ado/2006/04/edm">
      <EntityContainer Name="Db" m:IsDefaultEntityContainer="true">
        <EntitySet Name="People" EntityType="Crm.Person"/>
      </EntityContainer>
      <EntityType Name="Person">
        <Key><PropertyRef Name="Id"/></Key>
        <Property Name="Id" Type="Edm.Int32" Nullable="false"/>
        <Property Name="Name" Type="Edm.String" Nullable="false" MaxLength="40"/>
        <Property Name="Score" Type="Edm.Decimal" Precision="5" Scale="2"/>
        <Property Name="Active" Type="Edm.Boolean"/>
      </EntityType>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>
"""


async def test_entity_sets_with_typed_keys_and_properties(service: Service, tmp_path: Path) -> None:
    schema = tmp_path / "people.xml"
    schema.write_text(PEOPLE)
    app = make_app(service, Settings(data=None, odata_schema=schema))
    json_headers = {"Content-Type": "application/json", "Accept": "application/json"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        for person in (
            {"Id": 42, "Name": "Ann", "Score": "12.50", "Active": True},
            {"Id": 7, "Name": "Bob", "Score": 3.25, "Active": False},
        ):
            created = await client.post("/odata/People", json=person, headers=json_headers)
            assert created.status_code == 201, created.text
        assert created.headers["location"] == "http://test/odata/People(7)"
        got = (await client.get("/odata/People(42)?$format=json")).json()["d"]
        assert (got["Id"], got["Score"], got["Active"]) == (42, "12.50", True)
        ordered = await client.get("/odata/People?$filter=Score gt 5M or not Active&$orderby=Id")
        assert [
            e.findtext(f"{ATOM}id") for e in ET.fromstring(ordered.content).iter(f"{ATOM}entry")
        ] == [
            "http://test/odata/People(7)",
            "http://test/odata/People(42)",
        ]
        assert_error(await client.get("/odata/People(43)"), 404, "People(43)")
        assert_error(await client.get("/odata/People('42')"), 400, "Edm.Int32")
        too_precise = {"Id": 1, "Name": "C", "Score": "1.234"}
        assert_error(
            await client.post("/odata/People", json=too_precise),
            400,
            "'Score'",
            "Scale",
        )
    assert service.get("People", "42").payload == (b'{"Name":"Ann","Score":"12.50","Active":true}')


async def test_the_page_size_is_a_setting() -> None:
    mount = odata_mount(Settings(data=None, odata_page_size=2))
    assert isinstance(mount.app, ODataDoor)
    assert mount.app.page_size == 2
    with pytest.raises(revkv.InvalidRequest, match="at least 1"):
        ODataDoor(mount.app.catalog, 0)


async def test_author_and_comment_describe_each_commit_not_the_entity(service: Service) -> None:
    await service.aput("diary", "note", b"one", author="ann", comment="first")
    transport = httpx.ASGITransport(app=make_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        read = (await client.get("/odata/diary('note')?$format=json")).json()["d"]
        echoed = {**read, "Value": "two"}  # what a client sends back: every property
        headers = {"X-Revkv-Author": "bob"}
        assert (await client.put("/odata/diary('note')", json=echoed, headers=headers)).is_success
        replaced = service.get("diary", "note")
        merged = await client.request(
            "MERGE", "/odata/diary('note')", json={"Value": "three"}, headers=headers
        )
        assert merged.status_code == 204
        signed = {"Value": "four", "Comment": "on purpose"}
        await client.request("MERGE", "/odata/diary('note')", json=signed)
    assert (replaced.author, replaced.comment) == ("bob", "odata: replace")
    assert service.get("diary", "note", 3).comment == "odata: merge"
    latest = service.get("diary", "note")
    assert (latest.payload, latest.author, latest.comment) == (b"four", "", "on purpose")
