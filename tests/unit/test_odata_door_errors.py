"""The OData door in process, answering what it cannot serve: bad paths and options,
methods, versions, schemas, data that does not fit its schema, and tokens."""

from __future__ import annotations

import json
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
from revkv.http._odata import odata_mount
from revkv.http._odata.catalog import Catalog
from revkv.http._odata.edmx import load_edmx
from tests.asgi import asgi_client
from tests.unit.test_odata_door import (
    KVP,
    SCHEMA,
    assert_error,
    entry,
    keys_of,
    make_app,
    put_entities,
)

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def client(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(make_app(service)) as client:
        yield client


# -- data that does not fit the schema -----------------------------------------------------


async def test_unreadable_entities_are_skipped_in_feeds_and_422_alone(
    client: httpx.AsyncClient, service: Service
) -> None:
    await client.get("/odata/")  # the namespace, as the door creates it
    await put_entities(service, ["a", "c"])
    await service.aput("KeyValuePairs", "b", b'{"Value":5}')
    feed = await client.get(KVP)
    assert keys_of(ET.fromstring(feed.content)) == ["a", "c"]
    assert feed.headers["x-revkv-skipped"] == "1"
    assert (await client.get(KVP + "/$count")).text == "2"
    assert_error(await client.get(KVP + "('b')"), 422, "'b'", "Value")


async def test_text_xml_cannot_carry_is_unreadable_not_a_server_error(
    client: httpx.AsyncClient, service: Service
) -> None:
    await service.aput("diary", "ok", b"fine")
    await service.aput("diary", "bell", b"ring \x07")
    feed = await client.get("/odata/diary")
    assert feed.status_code == 200
    assert feed.headers["x-revkv-skipped"] == "1"
    assert_error(await client.get("/odata/diary('bell')"), 422, "U+0007")


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "fragments"),
    [
        ("$filter=Key eq", ("$filter", "position 6", "'Key eq'")),
        ("$filter=Nope eq 1", ("$filter", "unknown property 'Nope'", "position 0")),
        ("$orderby=Key sideways", ("$orderby", "position")),
        ("$orderby=Nope", ("$orderby", "Nope")),
        ("$select=Nope", ("$select", "Nope")),
        ("$top=-1", ("$top",)),
        ("$expand=Anything", ("$expand", "not supported")),
        ("$bogus=1", ("$bogus", "unknown")),
        ("$inlinecount=some", ("$inlinecount",)),
        ("$orderby=Key&$skiptoken=k3", ("$skiptoken",)),
        ("$top=1&$top=2", ("$top", "more than once")),
    ],
)
async def test_bad_query_options_are_400_naming_the_option(
    client: httpx.AsyncClient, query: str, fragments: tuple[str, ...]
) -> None:
    assert_error(await client.get(KVP + "?" + query), 400, *fragments)


@pytest.mark.parametrize(
    ("path", "status", "fragment"),
    [
        ("/odata/Nope", 404, "Resource not found for segment Nope"),
        (
            "/odata/KeyValuePairs('nope')",
            404,
            "Resource not found for segment KeyValuePairs('nope')",
        ),
        ("/odata/KeyValuePairs('25')/Nope", 404, "Resource not found for segment Nope"),
        ("/odata/KeyValuePairs(25)", 400, "write it like 'text'"),
        ("/odata/KeyValuePairs(Id='25')", 400, "keyed by 'Key'"),
        ("/odata/KeyValuePairs('25'", 400, "position"),
        ("/odata/KeyValuePairs('25')/$value", 400, "not media link entries"),
        ("/odata/$batch", 501, "$batch"),
    ],
)
async def test_bad_paths(
    client: httpx.AsyncClient, service: Service, path: str, status: int, fragment: str
) -> None:
    await put_entities(service, ["25"])
    assert_error(await client.get(path), status, fragment)


async def test_errors_in_json_when_json_was_asked_for(client: httpx.AsyncClient) -> None:
    response = await client.get(KVP + "('nope')?$format=json")
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "code": "ResourceNotFound",
            "message": {
                "lang": "en-US",
                "value": "Resource not found for segment KeyValuePairs('nope')",
            },
        }
    }
    bad_format = await client.get(KVP + "?$format=yaml")
    assert_error(bad_format, 400, "$format")
    accepted = await client.get(KVP + "?$top=x", headers={"Accept": "application/json"})
    assert accepted.status_code == 400
    assert "$top" in json.loads(accepted.content)["error"]["message"]["value"]


async def test_methods_not_allowed_say_what_is(client: httpx.AsyncClient) -> None:
    response = await client.delete(KVP)
    assert_error(response, 405, "DELETE", "entity set")
    assert response.headers["allow"] == "GET, POST"
    assert (await client.post("/odata/$metadata")).headers["allow"] == "GET"


async def test_odata_3_requests_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.get("/odata/", headers={"DataServiceVersion": "3.0"})
    assert_error(response, 400, "DataServiceVersion 3.0", "OData 2.0")


async def test_a_schema_file_that_cannot_be_served_stops_start_up(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text(SCHEMA.read_text().replace('<PropertyRef Name="Key"/>', ""))
    with pytest.raises(revkv.InvalidRequest, match=r"bad\.xml.*no Key"):
        odata_mount(Settings(odata_schema=bad))
    with pytest.raises(revkv.InvalidRequest, match="cannot read the OData schema"):
        odata_mount(Settings(odata_schema=tmp_path / "missing.xml"))
    reserved = SCHEMA.read_text().replace('Namespace="MemCacheSchema"', 'Namespace="revkv"')
    with pytest.raises(revkv.InvalidRequest, match="reserved"):
        Catalog(load_edmx(reserved.replace("MemCacheSchema.KeyValuePair", "revkv.KeyValuePair")))


# -- tokens --------------------------------------------------------------------------------


async def test_tokens_guard_reads_and_narrow_the_service_document(service: Service) -> None:
    await service.aput("diary", "note", b"x")
    service.auth = Auth((Token("kv", "k" * 16, "read", ("KeyValuePairs",)),))
    transport = httpx.ASGITransport(app=make_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        anonymous = await client.get("/odata/")
        assert_error(anonymous, 401, "token")
        assert anonymous.headers["www-authenticate"] == "Bearer"
        bearer = {"Authorization": "Bearer " + "k" * 16}
        listed = await client.get("/odata/?$format=json", headers=bearer)
        assert listed.json() == {"d": {"EntitySets": ["KeyValuePairs"]}}
        metadata = load_edmx((await client.get("/odata/$metadata", headers=bearer)).content)
        assert [s.name for s in metadata.entity_sets] == ["KeyValuePairs"]
        assert_error(await client.get("/odata/diary", headers=bearer), 403, "diary")
        assert (await client.get(KVP, headers=bearer)).status_code == 200
        assert_error(await client.post(KVP, content=entry("k"), headers=bearer), 403, "write")
