"""The OData door in process, answering as OData 2 says a server must: a `$filter` of
ill-typed operands is a 400 naming them, a system query option the resource does not
take is a 400, and a client that reads only OData 1.0 gets a 1.0 answer or a 400."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from revkv._service import Service
from tests.asgi import asgi_client
from tests.unit.test_odata_door import KVP, assert_error, keys_of, make_app, put_entities

pytestmark = pytest.mark.asyncio

V1 = {"MaxDataServiceVersion": "1.0"}


@pytest_asyncio.fixture
async def client(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(make_app(service, page_size=3)) as client:
        await client.get("/odata/")  # the namespace, as the door creates it
        await put_entities(service, ["a", "b"])
        yield client


# -- $filter types -------------------------------------------------------------------------


@pytest.mark.parametrize("resource", ["", "/$count", "('a')", "('a')/$count"])
@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("Key eq 1", ("cannot compare Key (Edm.String) with 1 (Edm.Int32)", "position 4")),
        ("year(Key) eq 2031", ("year() needs an Edm.DateTime", "Key is an Edm.String")),
        ("Key", ("must be a boolean expression", "Key is an Edm.String")),
        ("Expires eq 'soon'", ("cannot compare Expires (Edm.DateTime) with 'soon'",)),
    ],
)
async def test_ill_typed_filters_are_400_naming_operand_and_types(
    client: httpx.AsyncClient, resource: str, text: str, fragments: tuple[str, ...]
) -> None:
    response = await client.get(f"{KVP}{resource}", params={"$filter": text})
    assert_error(response, 400, "$filter", *fragments)


async def test_a_single_entity_is_there_only_if_it_passes_the_filter(
    client: httpx.AsyncClient,
) -> None:
    passes = await client.get(f"{KVP}('a')", params={"$filter": "Value eq 'va'"})
    assert passes.status_code == 200
    fails = await client.get(f"{KVP}('a')", params={"$filter": "Value eq 'vb'"})
    assert_error(fails, 404, "KeyValuePairs('a')", "does not match the $filter")
    count = await client.get(f"{KVP}('a')/$count", params={"$filter": "Value eq 'vb'"})
    assert count.text == "0"


# -- which options apply where -------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "option", "fragment"),
    [
        (f"{KVP}/$count?$inlinecount=allpages", "$inlinecount", "the $count"),
        (f"{KVP}/$count?$select=Key", "$select", "the $count"),
        (f"{KVP}/$count?$format=atom", "$format", "the $count"),
        (f"{KVP}('a')?$top=1", "$top", "the entity"),
        (f"{KVP}('a')?$orderby=Key", "$orderby", "the entity"),
        (f"{KVP}('a')?$inlinecount=allpages", "$inlinecount", "the entity"),
        (f"{KVP}('a')/Value?$filter=Key eq 'a'", "$filter", "the property"),
        (f"{KVP}('a')/Value?$select=Key", "$select", "the property"),
        (f"{KVP}('a')/Value/$value?$top=1", "$top", "the property $value"),
        (f"{KVP}('a')/$count?$top=1", "$top", "the $count of one entity"),
        ("/odata/$metadata?$top=1", "$top", "takes no system query options"),
        ("/odata/?$filter=true", "$filter", "the service document"),
    ],
)
async def test_options_that_do_not_apply_are_400(
    client: httpx.AsyncClient, url: str, option: str, fragment: str
) -> None:
    assert_error(await client.get(url), 400, option, "does not apply to", fragment)


@pytest.mark.parametrize(
    "url",
    [
        f"{KVP}?$filter=true&$orderby=Key&$top=1&$skip=0&$inlinecount=allpages&$select=Key"
        "&$format=atom&$expand=",
        f"{KVP}/$count?$filter=true&$orderby=Key&$top=1&$skip=0",
        f"{KVP}('a')?$filter=true&$select=Key&$format=json",
        f"{KVP}('a')/Value?$format=json",
        f"{KVP}('a')/Value/$value?$format=json",
        "/odata/?$format=json",
        f"{KVP}?custom=1",
        f"{KVP}('a')/Value?custom=1",
    ],
)
async def test_options_that_apply_are_taken(client: httpx.AsyncClient, url: str) -> None:
    assert (await client.get(url)).status_code == 200


# -- OData 1.0 clients ---------------------------------------------------------------------


async def test_a_1_0_client_gets_1_0_answers(client: httpx.AsyncClient) -> None:
    feed = await client.get(KVP, params={"$format": "json"}, headers=V1)
    assert feed.headers["dataserviceversion"] == "1.0"
    assert [e["Key"] for e in feed.json()["d"]] == ["a", "b"]
    value = await client.get(f"{KVP}('a')/Value", params={"$format": "json"}, headers=V1)
    assert value.json() == {"d": {"Value": "va"}}
    atom = await client.get(KVP, headers={"DataServiceVersion": "1.0"})
    assert atom.headers["dataserviceversion"] == "1.0"
    assert keys_of(ET.fromstring(atom.content)) == ["a", "b"]
    missing = await client.get(f"{KVP}('zz')", headers=V1)
    assert missing.status_code == 404
    assert missing.headers["dataserviceversion"] == "1.0"


async def test_a_2_0_client_gets_2_0_wrappers(client: httpx.AsyncClient) -> None:
    headers = {"MaxDataServiceVersion": "2.0", "DataServiceVersion": "1.0"}
    feed = await client.get(KVP, params={"$format": "json"}, headers=headers)
    assert feed.headers["dataserviceversion"] == "2.0"
    assert [e["Key"] for e in feed.json()["d"]["results"]] == ["a", "b"]


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("$inlinecount=allpages", "$inlinecount needs OData 2.0"),
        ("$select=Key", "$select needs OData 2.0"),
        ("$skiptoken=a", "$skiptoken needs OData 2.0"),
    ],
)
async def test_what_1_0_cannot_say_is_400(
    client: httpx.AsyncClient, query: str, fragment: str
) -> None:
    response = await client.get(f"{KVP}?{query}", headers=V1)
    assert_error(response, 400, fragment, "MaxDataServiceVersion")
    assert response.headers["dataserviceversion"] == "1.0"


async def test_a_feed_that_needs_server_paging_is_400_for_1_0(
    client: httpx.AsyncClient, service: Service
) -> None:
    await put_entities(service, ["c", "d"])  # four, over the page size of three
    assert_error(await client.get(KVP, headers=V1), 400, "server paging", "$top")
    short = await client.get(KVP, params={"$top": "3"}, headers=V1)
    assert keys_of(ET.fromstring(short.content)) == ["a", "b", "c"]
