"""The OData door in process: service document, $metadata, feeds and their options,
entities, properties, and every error a read can meet. Writes: test_odata_door_writes.py."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterable
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

import httpx
import msgspec
import pytest
import pytest_asyncio
from starlette.applications import Starlette

from revkv._config import Settings
from revkv._service import Service
from revkv.http import create_app
from revkv.http._odata.edmx import load_edmx
from revkv.query._parse import MAX_LENGTH, MAX_TERMS
from tests.asgi import asgi_client

pytestmark = pytest.mark.asyncio

SCHEMA = Path(__file__).resolve().parents[1] / "compat" / "MemCacheSchema.xml"
ATOM = "{http://www.w3.org/2005/Atom}"
D = "{http://schemas.microsoft.com/ado/2007/08/dataservices}"
M = "{http://schemas.microsoft.com/ado/2007/08/dataservices/metadata}"
APP = "{http://www.w3.org/2007/app}"
KVP = "/odata/KeyValuePairs"
FUTURE = "2030-01-01T00:00:00.000"
FUTURE_SECONDS = 1893456000.0


def make_app(service: Service, settings: Settings | None = None, page_size: int = 100) -> Starlette:
    """revkv's app serving MemCacheSchema.xml under /odata, with `page_size` entities a page."""
    settings = settings or Settings(data=None, odata_schema=SCHEMA)
    return create_app(service, replace(settings, odata_page_size=page_size))


def entry(key: str, value: str = "v", expires: str | None = FUTURE, **more: str) -> str:
    """An Atom entry as Pyslet's client sends it."""
    props = f"<d:Key>{key}</d:Key><d:Value>{value}</d:Value>"
    if expires is not None:
        props += f"<d:Expires>{expires}</d:Expires>"
    props += "".join(f"<d:{name}>{text}</d:{name}>" for name, text in more.items())
    return (
        '<entry xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices" '
        'xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata">'
        f'<content type="application/xml"><m:properties>{props}</m:properties></content></entry>'
    )


async def put_entities(service: Service, keys: Iterable[str], expires: float | None = None) -> None:
    """Entities written straight through the Service, as the door would store them."""
    for key in keys:
        moment = expires if expires is not None else FUTURE_SECONDS
        payload = msgspec.json.encode({"Value": f"v{key}"})
        await service.aput("KeyValuePairs", key, payload, expires=moment)


def keys_of(feed: ET.Element) -> list[str]:
    return [
        e.findtext(f"{ATOM}content/{M}properties/{D}Key") or "" for e in feed.iter(f"{ATOM}entry")
    ]


def next_href(feed: ET.Element) -> str | None:
    links = [link for link in feed.findall(f"{ATOM}link") if link.get("rel") == "next"]
    return links[0].get("href") if links else None


def assert_error(response: httpx.Response, status: int, *fragments: str) -> str:
    """An OData XML error with ``status`` whose message holds every fragment."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/xml"
    error = ET.fromstring(response.content)
    assert error.tag == f"{M}error"
    message = error.findtext(f"{M}message") or ""
    for fragment in fragments:
        assert fragment in message
    return message


@pytest_asyncio.fixture
async def client(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(make_app(service)) as client:
        yield client


# -- the service ---------------------------------------------------------------------------


async def test_service_document_names_each_set_from_the_host_the_client_used(
    client: httpx.AsyncClient, service: Service
) -> None:
    await service.aput("diary", "note", b"hello")
    await service.aput("not-an-identifier", "k", b"x")
    response = await client.get("/odata/", headers={"Host": "localhost:8123"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/atomsvc+xml"
    assert response.headers["dataserviceversion"] == "2.0"
    document = ET.fromstring(response.content)
    assert (
        document.get("{http://www.w3.org/XML/1998/namespace}base") == "http://localhost:8123/odata/"
    )
    titles = [c.findtext(f"{ATOM}title") for c in document.iter(f"{APP}collection")]
    hrefs = [c.get("href") for c in document.iter(f"{APP}collection")]
    assert titles == hrefs == ["KeyValuePairs", "diary"]
    as_json = await client.get("/odata/?$format=json")
    assert as_json.json() == {"d": {"EntitySets": ["KeyValuePairs", "diary"]}}


async def test_metadata_reads_back_as_the_model_served(
    client: httpx.AsyncClient, service: Service
) -> None:
    await service.aput("diary", "note", b"hello")
    response = await client.get("/odata/$metadata", headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xml"
    model = load_edmx(response.content)
    assert [s.path for s in model.entity_sets] == ["KeyValuePairs", "diary"]
    kvp = model.entity_set("KeyValuePairs").entity_type
    assert (kvp.key, kvp.expiry, kvp["Expires"].precision) == ("Key", "Expires", 3)
    assert b'm:IsDefaultEntityContainer="true"' in response.content


async def test_declared_sets_get_their_namespace_on_the_first_request(
    client: httpx.AsyncClient, service: Service
) -> None:
    await client.get("/odata/")
    namespace = service.get_namespace("KeyValuePairs")
    assert namespace.json_objects_only
    assert namespace.schema == {"odata_entity_type": "MemCacheSchema.KeyValuePair"}


async def test_without_a_schema_every_namespace_is_served_as_commits(service: Service) -> None:
    await service.aput("diary", "note", b"dear diary", author="ann", comment="first")
    app = make_app(service, Settings(data=None))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://h") as client:
        got = (await client.get("/odata/diary('note')?$format=json")).json()["d"]
    assert got["__metadata"]["type"] == "revkv.diary"
    assert (got["Key"], got["Value"], got["Version"], got["Author"], got["Comment"]) == (
        "note",
        "dear diary",
        "1",
        "ann",
        "first",
    )
    assert got["Expires"] is None


# -- feeds ---------------------------------------------------------------------------------


async def test_feed_in_atom_json_and_xml(client: httpx.AsyncClient, service: Service) -> None:
    await put_entities(service, ["b", "a"])
    atom = await client.get(KVP)
    assert atom.headers["content-type"] == "application/atom+xml;type=feed"
    feed = ET.fromstring(atom.content)
    assert feed.findtext(f"{ATOM}title") == "MemCacheSchema.MemCache.KeyValuePairs"
    assert keys_of(feed) == ["a", "b"]
    assert next_href(feed) is None
    as_json = await client.get(KVP, headers={"Accept": "application/json"})
    results = as_json.json()["d"]["results"]
    assert [r["Key"] for r in results] == ["a", "b"]
    assert results[0]["__metadata"] == {
        "uri": "http://test/odata/KeyValuePairs('a')",
        "type": "MemCacheSchema.KeyValuePair",
        "etag": 'W/"1"',
    }
    as_xml = await client.get(KVP + "?$format=xml")
    assert as_xml.headers["content-type"] == "application/xml"
    assert keys_of(ET.fromstring(as_xml.content)) == ["a", "b"]


async def test_keyset_pages_follow_next_links_and_ignore_new_keys_behind_them(
    service: Service,
) -> None:
    await put_entities(service, [f"k{i:02d}" for i in range(10)])
    transport = httpx.ASGITransport(app=make_app(service, page_size=4))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        first = ET.fromstring((await client.get(KVP + "?$filter=Key ne 'k05'")).content)
        href = next_href(first)
        assert href == "KeyValuePairs?$filter=Key%20ne%20'k05'&$skiptoken=k03"
        await put_entities(service, ["k00a"])  # behind the token: the next page is unmoved
        second = ET.fromstring((await client.get("/odata/" + href)).content)
        third = ET.fromstring((await client.get("/odata/" + (next_href(second) or ""))).content)
    assert keys_of(first) == ["k00", "k01", "k02", "k03"]
    assert keys_of(second) == ["k04", "k06", "k07", "k08"]
    assert keys_of(third) == ["k09"]
    assert next_href(third) is None


async def test_top_skip_orderby_and_inlinecount(service: Service) -> None:
    await put_entities(service, [f"k{i}" for i in range(7)])
    transport = httpx.ASGITransport(app=make_app(service, page_size=3))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        topped = ET.fromstring((await client.get(KVP + "?$top=5&$skip=1")).content)
        assert keys_of(topped) == ["k1", "k2", "k3"]
        assert next_href(topped) == "KeyValuePairs?$top=2&$skiptoken=k3"
        rest = ET.fromstring((await client.get("/odata/" + (next_href(topped) or ""))).content)
        assert keys_of(rest) == ["k4", "k5"]
        assert next_href(rest) is None
        exact = ET.fromstring((await client.get(KVP + "?$top=3")).content)
        assert next_href(exact) is None
        ordered = await client.get(KVP + "?$orderby=Key desc&$inlinecount=allpages&$format=json")
        body = ordered.json()["d"]
        assert [r["Key"] for r in body["results"]] == ["k6", "k5", "k4"]
        assert body["__count"] == "7"
        assert body["__next"].endswith(
            "$orderby=Key%20desc&$inlinecount=allpages&$format=json&$skiptoken=3"
        )
        page = (await client.get(body["__next"])).json()["d"]
        assert [r["Key"] for r in page["results"]] == ["k3", "k2", "k1"]
        counted = ET.fromstring((await client.get(KVP + "?$inlinecount=allpages&$top=1")).content)
        assert counted.findtext(f"{M}count") == "7"


async def test_filter_select_and_count(client: httpx.AsyncClient, service: Service) -> None:
    await put_entities(service, ["10", "11", "20"])
    await put_entities(service, ["12"], expires=time.time() + 60)
    soon = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + 600))
    since = f"Expires lt datetime'{soon}' or startswith(Value,'v2')"
    response = await client.get(KVP, params={"$filter": since, "$select": "Key,Value"})
    feed = ET.fromstring(response.content)
    assert keys_of(feed) == ["12", "20"]
    first = next(feed.iter(f"{M}properties"))
    assert [child.tag for child in first] == [f"{D}Key", f"{D}Value"]
    count = await client.get(KVP + "/$count", params={"$filter": "startswith(Key,'1')"})
    assert (count.status_code, count.text) == (200, "3")
    assert count.headers["content-type"] == "text/plain; charset=utf-8"
    assert (await client.get(KVP + "/$count?$skip=1&$top=1")).text == "1"
    assert (await client.get(KVP + "('10')/$count")).text == "1"


async def test_filters_over_the_limits_are_400_naming_the_limit(
    client: httpx.AsyncClient, service: Service
) -> None:
    await put_entities(service, ["10"])
    many = " or ".join(f"Key eq '{n}'" for n in range(MAX_TERMS // 2 + 1))
    for url in (KVP, KVP + "/$count"):
        response = await client.get(url, params={"$filter": many})
        assert_error(response, 400, f"more than {MAX_TERMS:,} terms")
    long = ",".join(["Key"] * (MAX_LENGTH // 4 + 1))
    message = assert_error(await client.get(KVP, params={"$orderby": long}), 400, f"{MAX_LENGTH:,}")
    assert message.startswith("$orderby: ")


async def test_a_plus_in_the_query_is_a_space_as_at_kv(
    client: httpx.AsyncClient, service: Service
) -> None:
    await put_entities(service, ["a+b", "a b"])
    plus = await client.get(KVP + "?$filter=Key%20eq%20'a%2Bb'")
    assert keys_of(ET.fromstring(plus.content)) == ["a+b"]
    space = await client.get(KVP + "?$filter=Key+eq+'a+b'")
    assert keys_of(ET.fromstring(space.content)) == ["a b"]


async def test_expired_entities_are_gone_at_once(
    client: httpx.AsyncClient, service: Service
) -> None:
    await put_entities(service, ["old"], expires=time.time() - 1)
    await put_entities(service, ["new"])
    assert keys_of(ET.fromstring((await client.get(KVP)).content)) == ["new"]
    assert_error(await client.get(KVP + "('old')"), 404, "KeyValuePairs('old')")


# -- entities and properties ---------------------------------------------------------------


async def test_entity_in_atom_and_json_with_its_etag(
    client: httpx.AsyncClient, service: Service
) -> None:
    await service.aput("KeyValuePairs", "25", b'{"Value":"Z"}', expires=FUTURE_SECONDS)
    atom = await client.get(KVP + "('25')")
    assert atom.headers["content-type"] == "application/atom+xml;type=entry"
    assert atom.headers["etag"] == 'W/"1"'
    properties = ET.fromstring(atom.content).find(f"{ATOM}content/{M}properties")
    assert properties is not None
    assert [(p.tag[len(D) :], p.text) for p in properties] == [
        ("Key", "25"),
        ("Value", "Z"),
        ("Expires", "2030-01-01T00:00:00.000"),
    ]
    as_json = await client.get(KVP + "('25')?$format=json")
    assert as_json.text == (
        '{"d":{"__metadata":{"uri":"http://test/odata/KeyValuePairs(\'25\')",'
        '"type":"MemCacheSchema.KeyValuePair","etag":"W/\\"1\\""},'
        '"Key":"25","Value":"Z","Expires":"\\/Date(1893456000000)\\/"}}'
    )
    named = await client.get(KVP + "(Key='25')?$select=Value&$format=json")
    assert set(named.json()["d"]) == {"__metadata", "Value"}


@pytest.mark.parametrize("key", ["it's", "a/b", "sp ace&amp=", "ü€", "x?y#z", "100%", "(p)"])
async def test_keys_with_any_character(
    client: httpx.AsyncClient, service: Service, key: str
) -> None:
    await put_entities(service, [key])
    path = quote("('" + key.replace("'", "''") + "')", safe="'()")
    response = await client.get(KVP + path + "?$format=json")
    assert response.status_code == 200, response.text
    assert response.json()["d"]["Key"] == key


async def test_property_and_its_raw_value(client: httpx.AsyncClient, service: Service) -> None:
    await put_entities(service, ["25"])
    value = await client.get(KVP + "('25')/Value")
    assert value.headers["content-type"] == "application/xml"
    assert ET.fromstring(value.content).text == "v25"
    as_json = await client.get(KVP + "('25')/Value?$format=json")
    assert as_json.json() == {"d": {"results": {"Value": "v25"}}}
    raw = await client.get(KVP + "('25')/Value/$value")
    assert (raw.text, raw.headers["content-type"]) == ("v25", "text/plain; charset=utf-8")
    expires = await client.get(KVP + "('25')/Expires/$value")
    assert expires.text == "2030-01-01T00:00:00.000"
    assert raw.headers["etag"] == 'W/"1"'


async def test_a_null_property_has_no_raw_value(service: Service) -> None:
    await service.aput("diary", "note", b"text")
    transport = httpx.ASGITransport(app=make_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/odata/diary('note')/Expires/$value")
    assert_error(response, 404, "Expires is null")


async def test_binary_values_are_hex_for_pyslet_and_base64_for_others(service: Service) -> None:
    await service.acreate_namespace("blobs", True, content_type="application/octet-stream")
    await service.aput("blobs", "b", b"\x00\xffhi")
    transport = httpx.ASGITransport(app=make_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        pyslet = await client.get(
            "/odata/blobs('b')", headers={"DataServiceVersion": "2.0; pyslet 0.7.20170805"}
        )
        other = await client.get("/odata/blobs('b')/Value")
        raw = await client.get("/odata/blobs('b')/Value/$value")
    assert '<d:Value m:type="Edm.Binary">00FF6869</d:Value>' in pyslet.text
    assert ET.fromstring(other.content).text == "AP9oaQ=="
    assert (raw.content, raw.headers["content-type"]) == (b"\x00\xffhi", "application/octet-stream")
