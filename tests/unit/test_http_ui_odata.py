"""OData entity sets on the page: typed columns, typed inputs, and what they write is
what the OData door reads back."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from revkv._config import Settings
from revkv._service import Service
from revkv.http import create_app
from tests.asgi import asgi_client

EDMX = """<?xml version="1.0" encoding="utf-8" standalone="yes" ?>
<edmx:Edmx Version="1.0" xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx"
  xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata">
  <edmx:DataServices m:DataServiceVersion="2.0">
    <Schema Namespace="Shop" xmlns="http://schemas.microsoft.com/ado/2006/04/edm">
      <EntityContainer Name="Store" m:IsDefaultEntityContainer="true">
        <EntitySet Name="Things" EntityType="Shop.Thing"/>
      </EntityContainer>
      <EntityType Name="Thing">
        <Key><PropertyRef Name="Id"/></Key>
        <Property Name="Id" Type="Edm.String" Nullable="false" MaxLength="64"/>
        <Property Name="Name" Type="Edm.String" Nullable="false" MaxLength="40"/>
        <Property Name="Count" Type="Edm.Int32" Nullable="false"/>
        <Property Name="Price" Type="Edm.Double" Nullable="true"/>
        <Property Name="InStock" Type="Edm.Boolean" Nullable="false"/>
        <Property Name="Since" Type="Edm.DateTime" Nullable="true"/>
      </EntityType>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>
"""


@pytest_asyncio.fixture
async def client(service: Service, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    schema = tmp_path / "shop.xml"
    schema.write_text(EDMX)
    app = create_app(service, Settings(odata_schema=schema))
    async with asgi_client(app) as client:
        assert (await client.get("/odata/Things")).status_code == 200  # creates the set
        yield client


async def save(client: httpx.AsyncClient, **fields: str) -> httpx.Response:
    editor = (await client.get("/ui/edit/Things")).text
    match = re.search(r'name="csrf" value="([^"]+)"', editor)
    assert match
    form = {"csrf": match.group(1), "expect": "absent", "typed": "1", **fields}
    return await client.post("/ui/put/Things", data=form, headers={"Origin": "http://test"})


@pytest.mark.asyncio
async def test_typed_inputs_write_what_odata_reads(client: httpx.AsyncClient) -> None:
    editor = (await client.get("/ui/edit/Things")).text
    assert re.search(r'type="number" name="p.Count"', editor)
    assert re.search(r'type="checkbox" name="p.InStock"', editor)
    assert re.search(r'type="datetime-local" name="p.Since"', editor)
    answer = await save(
        client, key="lamp", **{"p.Name": "Lamp", "p.Count": "3", "p.Price": "9.5",
                               "p.InStock": "on", "p.Since": "2026-12-05T10:30:00"},
    )  # fmt: skip
    assert answer.status_code == 303, answer.text
    entity = (await client.get("/odata/Things('lamp')?$format=json")).json()["d"]
    assert (entity["Name"], entity["Count"], entity["InStock"]) == ("Lamp", 3, True)
    assert float(entity["Price"]) == 9.5  # OData 2's JSON writes a Double as a string
    assert "2026-12-05T10:30" in str(entity["Since"]) or entity["Since"].startswith("/Date(")

    page = (await client.get("/ui/ns/Things")).text
    assert re.search(r"Count <small>Int32</small>", page)
    assert re.search(r'<td class="typed">Lamp</td><td class="typed">3</td>', page)


@pytest.mark.asyncio
async def test_a_value_of_the_wrong_type_is_refused_with_its_name(
    client: httpx.AsyncClient,
) -> None:
    answer = await save(client, key="bad", **{"p.Name": "x", "p.Count": "three"})
    assert answer.status_code == 400
    assert "property &#39;Count&#39; is Edm.Int32" in answer.text
    too_long = await save(client, key="bad", **{"p.Name": "x" * 41, "p.Count": "1"})
    assert too_long.status_code == 400 and "Name" in too_long.text
