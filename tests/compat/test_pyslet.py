"""Pyslet's own OData client, unchanged, against `revkv serve --odata-schema MemCacheSchema.xml`,
on the embedded store and on PostgreSQL.

The session of the seed document (Pyslet's memcache sample, seeds/000): `Client(root)`,
`c.feeds['KeyValuePairs']`, its `test_data` function inserting 26 entities (verbatim but
for the expiry times, which are seconds here so that the test can watch them expire),
reading them back, `KeyValuePairs('25')?$format=json` and `.../Value/$value` as a browser
would, then the rest of the consumer API: updates (PUT and MERGE), deletes, filters,
ordering, paging and keys with any character.

One call of the seed cannot work on any server: `cleanup_forever` builds its literal with
`edm.DateTimeValue()`, which has no type, so the client sends `Expires lt 2026-...`
without `datetime'...'` (Pyslet's own server answers 400 too). revkv does not need that
loop, since the store's TTL removes expired entities; the same filter with a typed value
(`edm.SimpleValue.from_type(edm.SimpleType.DateTime)`) is exercised below.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pyslet.iso8601 as iso
import pyslet.odata2.csdl as edm
import pytest
from pyslet.odata2 import core
from pyslet.odata2.client import Client, UnexpectedHTTPResponse
from pyslet.py2 import character, range3

from tests.servers import RevkvServer

SCHEMA = Path(__file__).with_name("MemCacheSchema.xml")

pytestmark = [
    pytest.mark.filterwarnings("ignore:Client.LoadService is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings(
        "ignore:CommonExpression.OrderByToString is deprecated:DeprecationWarning"
    ),
]


def serve_odata(data: Path | str | None, *args: str) -> RevkvServer:
    """A started `revkv serve --odata-schema MemCacheSchema.xml ...` process, on the
    embedded store (`data` a directory, or None for memory) or PostgreSQL (a URL)."""
    args = ("--odata-schema", str(SCHEMA), *args)
    return RevkvServer(data, *args).start()


@pytest.fixture(scope="module", params=["embedded", "postgresql"])
def server(request: pytest.FixtureRequest) -> Iterator[RevkvServer]:
    """The same server on each store: Pyslet's client must not tell them apart (on
    PostgreSQL, reads wait on the database and run off the event loop)."""
    data = None
    if request.param == "postgresql":
        data = request.getfixturevalue("postgres").create_database("pyslet")
    server = serve_odata(data)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def empty(server: RevkvServer) -> Iterator[None]:
    """Each test starts with no entities (deleted through the door)."""
    yield
    with httpx.Client(base_url=server.url + "/odata/") as http:
        url: str | None = "KeyValuePairs?$select=Key&$format=json"
        while url:
            page = http.get(url).json()["d"]
            for entity in page["results"]:
                http.delete(entity["__metadata"]["uri"])
            url = page.get("__next")


@pytest.fixture
def client(server: RevkvServer) -> Iterator[Client]:
    client = Client(server.url + "/odata/")
    try:
        yield client
    finally:
        client.close()


def test_data(mem_cache: edm.EntitySet, lifetime: Callable[[int], float]) -> None:
    """The seed's `test_data`, with `10 * i` seconds of life made `lifetime(i)`."""
    with mem_cache.open() as collection:
        for i in range3(26):
            e = collection.new_entity()
            e.set_key(str(i))
            e["Value"].set_from_value(character(0x41 + i))
            e["Expires"].set_from_value(iso.TimePoint.from_unix_time(time.time() + lifetime(i)))
            collection.insert_entity(e)


test_data.__test__ = False  # type: ignore[attr-defined]  # the seed's name, not a test


def test_the_seed_session(server: RevkvServer, client: Client) -> None:
    assert list(client.feeds) == ["KeyValuePairs"]
    mem_cache = client.feeds["KeyValuePairs"]
    test_data(mem_cache, lambda i: 3600 + 10 * i)
    with mem_cache.open() as collection:
        read = {e["Key"].value: e["Value"].value for e in collection.itervalues()}
        assert len(collection) == 26
        assert len(list(collection)) == 26
    assert read == {str(i): chr(0x41 + i) for i in range(26)}
    as_json = httpx.get(server.url + "/odata/KeyValuePairs('25')?$format=json").json()["d"]
    assert as_json["__metadata"]["uri"] == server.url + "/odata/KeyValuePairs('25')"
    assert (as_json["Key"], as_json["Value"]) == ("25", "Z")
    assert as_json["Expires"].startswith("/Date(")
    raw = httpx.get(server.url + "/odata/KeyValuePairs('25')/Value/$value")
    assert (raw.status_code, raw.text) == (200, "Z")


def test_entries_disappear_when_they_expire(client: Client) -> None:
    mem_cache = client.feeds["KeyValuePairs"]
    start = time.time()
    expiry: dict[str, float] = {}

    def lifetime(i: int) -> float:  # 1.0 s to 3.0 s, in key order
        expiry[str(i)] = time.time() + 1.0 + 0.08 * i
        return 1.0 + 0.08 * i

    test_data(mem_cache, lifetime)
    seen: list[int] = []
    while True:
        before = time.time()
        with mem_cache.open() as collection:
            present = set(collection.keys())
        after = time.time()
        assert {k for k, at in expiry.items() if at > after + 0.05} <= present
        assert present <= {k for k, at in expiry.items() if at > before - 0.05}
        seen.append(len(present))
        if not present:
            break
        assert time.time() < start + 10, f"{sorted(present)} outlived their expiry"
        time.sleep(0.2)
    assert seen == sorted(seen, reverse=True)
    assert len(set(seen)) > 3  # it was watched decaying, not found empty
    with mem_cache.open() as collection, pytest.raises(KeyError):
        collection["25"]


def test_updates_merges_and_deletes(client: Client) -> None:
    mem_cache = client.feeds["KeyValuePairs"]
    test_data(mem_cache, lambda i: 3600)
    with mem_cache.open() as collection:
        entity = collection["25"]
        entity["Value"].set_from_value("ZZ")
        collection.update_entity(entity)  # PUT
        assert collection["25"]["Value"].value == "ZZ"
        collection.set_expand(None, {"Value": None})
        partial = collection["24"]
        partial["Value"].set_from_value("YY")
        collection.update_entity(partial)  # MERGE: Expires is kept
        collection.set_expand(None, None)
        merged = collection["24"]
        assert merged["Value"].value == "YY"
        assert merged["Expires"].value is not None
        del collection["0"]
        assert "0" not in collection
        assert len(collection) == 25
        with pytest.raises(KeyError):
            collection["nope"]
        with pytest.raises(KeyError):
            del collection["nope"]
        duplicate = collection.new_entity()
        duplicate.set_key("1")
        duplicate["Value"].set_from_value("dup")
        duplicate["Expires"].set_from_value(iso.TimePoint.from_unix_time(time.time() + 60))
        with pytest.raises(edm.ConstraintError, match="Duplicate key"):
            collection.insert_entity(duplicate)


def test_filters_ordering_and_the_cleanup_filter(client: Client) -> None:
    mem_cache = client.feeds["KeyValuePairs"]
    test_data(mem_cache, lambda i: 3600 + 10 * i)
    untyped = edm.DateTimeValue()  # the seed's literal: sent without datetime'...'
    typed = edm.SimpleValue.from_type(edm.SimpleType.DateTime)
    for value in (untyped, typed):
        value.set_from_value(iso.TimePoint.from_unix_time(time.time() + 3600 + 55))
    with mem_cache.open() as collection:
        collection.set_filter(_lt("Expires", untyped))
        with pytest.raises(UnexpectedHTTPResponse):
            len(collection)
        collection.set_filter(_lt("Expires", typed))
        expired = list(collection)
        assert sorted(expired, key=int) == ["0", "1", "2", "3", "4", "5"]
        for key in expired:
            del collection[key]
        collection.set_filter(None)
        assert len(collection) == 20
        collection.set_orderby(core.CommonExpression.orderby_from_str("Expires desc,Key"))
        assert [e["Key"].value for e in collection.itervalues()][:3] == ["25", "24", "23"]
        collection.set_orderby(None)
        collection.set_filter(core.CommonExpression.from_str("startswith(Value,'Z')"))
        assert collection["25"]["Value"].value == "Z"
        with pytest.raises(KeyError):
            collection["24"]


def test_paging_through_more_than_a_page(server: RevkvServer, client: Client) -> None:
    with httpx.Client(base_url=server.url + "/odata/") as http:  # faster than Pyslet's POSTs
        for i in range(250):
            body = {"Key": f"{i:03d}", "Value": str(i), "Expires": "/Date(1893456000000)/"}
            assert http.post("KeyValuePairs", json=body).status_code == 201
    with client.feeds["KeyValuePairs"].open() as collection:
        keys = list(collection.keys())
        collection.set_page(5, 120)
        page = [e["Key"].value for e in collection.iterpage()]
    assert keys == [f"{i:03d}" for i in range(250)]
    assert page == ["120", "121", "122", "123", "124"]


@pytest.mark.parametrize("key", ["it's", "a/b", "sp ace&amp=", "ü€", "x?y#z", "100%", "(p)"])
def test_keys_with_any_character(client: Client, key: str) -> None:
    with client.feeds["KeyValuePairs"].open() as collection:
        entity = collection.new_entity()
        entity.set_key(key)
        entity["Value"].set_from_value("v " + key)
        entity["Expires"].set_from_value(iso.TimePoint.from_unix_time(time.time() + 60))
        collection.insert_entity(entity)
        assert collection[key]["Value"].value == "v " + key
        del collection[key]
        assert key not in collection


def test_what_pyslet_does_not_send_works_by_hand(server: RevkvServer) -> None:
    """JSON writes and If-Match: Pyslet's client never sends them; browsers and datajs do."""
    url = server.url + "/odata/KeyValuePairs"
    body = {"Key": "k", "Value": "v", "Expires": "/Date(1893456000000)/"}
    created = httpx.post(url, json=body, headers={"Accept": "application/json"})
    assert created.status_code == 201
    assert json.loads(created.content)["d"]["Value"] == "v"
    stale = httpx.put(url + "('k')", json=body, headers={"If-Match": 'W/"9"'})
    assert stale.status_code == 412


def _lt(name: str, value: edm.SimpleValue) -> core.BinaryExpression:
    """The seed's filter tree: ``name lt value``."""
    expression = core.BinaryExpression(core.Operator.lt)
    expression.operands.append(core.PropertyExpression(name))
    expression.operands.append(core.LiteralExpression(value))
    return expression
