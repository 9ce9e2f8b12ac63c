"""Reads that name a min rev (`X-Revkv-Min-Rev`, `?min_rev=`), in process on the embedded
store: reached at once; a rev ahead of it, which this one-view store never made, is 410
`RevAhead` at once (no wait: it acknowledges a write only once it is durable); 400 for a
malformed value. Across two servers on PostgreSQL, where a server may lag and waits
(503 `RevNotReached` after `min_rev_wait`): tests/integration/test_min_rev_servers.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

import revkv
from revkv._config import Settings
from revkv._model import Put
from revkv._service import Service
from revkv.errors import InvalidRequest
from revkv.http import create_app
from tests.asgi import asgi_client

pytestmark = pytest.mark.asyncio

AHEAD = 10**9
READS = [
    "/kv/ns/k",
    "/kv/ns/k/meta",
    "/kv/ns/k/1",
    "/kv/ns/k/history",
    "/kv/ns",
    "/kv/ns?limit=10",
    "/kv",
    "/changes?since=0",
    "/ns/ns",
    "/odata/ns",
]


@pytest_asyncio.fixture
async def client(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    service.put("ns", "k", b"v1")
    app = create_app(service, Settings(data=None, min_rev_wait=0.2))
    async with asgi_client(app) as client:
        yield client


@pytest.mark.parametrize("path", READS)
async def test_a_reached_rev_is_answered_as_usual(client: httpx.AsyncClient, path: str) -> None:
    plain = await client.get(path)
    by_header = await client.get(path, headers={"X-Revkv-Min-Rev": "1"})
    joiner = "&" if "?" in path else "?"
    by_param = await client.get(f"{path}{joiner}min_rev=1")
    assert plain.status_code == by_header.status_code == by_param.status_code == 200
    if not path.startswith("/odata"):  # a feed says when it was made
        assert plain.content == by_header.content == by_param.content


@pytest.mark.parametrize("path", READS)
async def test_a_rev_ahead_of_the_store_is_410_rev_ahead_naming_both_revs(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path, headers={"X-Revkv-Min-Rev": str(AHEAD)})
    assert response.status_code == 410
    error = response.json()["error"]
    assert (error["code"], error["requested_rev"], error["current_rev"]) == (
        "RevAhead", AHEAD, 1,
    )  # fmt: skip


async def test_the_query_parameter_and_head_too(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/kv/ns/k?min_rev={AHEAD}")
    assert (response.status_code, response.json()["error"]["code"]) == (410, "RevAhead")
    head = await client.head("/kv/ns/k", headers={"X-Revkv-Min-Rev": str(AHEAD)})
    assert head.status_code == 410


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "", "9" * 40, "\uff11"])
async def test_a_malformed_min_rev_is_400(client: httpx.AsyncClient, value: str) -> None:
    sent = value.encode("utf-8")  # a header travels as bytes: other scripts' digits too
    by_header = await client.get("/kv/ns/k", headers={b"X-Revkv-Min-Rev": sent})
    by_param = await client.get("/changes", params={"min_rev": value})
    for response in (by_header, by_param):
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "InvalidRequest"
        assert "min" in response.json()["error"]["message"].lower()


async def test_the_larger_of_header_and_parameter_counts(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/kv/ns/k?min_rev={AHEAD}", headers={"X-Revkv-Min-Rev": "1"})
    assert response.status_code == 410


async def test_writes_never_wait(client: httpx.AsyncClient) -> None:
    response = await client.put("/kv/ns/k", content=b"v2", headers={"X-Revkv-Min-Rev": "999"})
    assert response.status_code == 200
    assert response.json()["rev"] == 2


async def test_a_watch_with_a_min_rev_ahead_is_refused_before_it_streams(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/watch/ns", headers={"X-Revkv-Min-Rev": str(AHEAD)})
    assert response.status_code == 410


async def test_the_async_client_raises_its_floor_with_each_write(service: Service) -> None:
    app = create_app(service, Settings(data=None, min_rev_wait=0))
    transport = httpx.ASGITransport(app=app)
    async with revkv.AsyncClient("http://test", transport=transport) as client:
        assert client.min_rev == 0
        first = await client.put("ns", "k", b"v1")
        assert client.min_rev == first.rev
        result = await client.txn([], [Put(namespace="ns", key="t", payload=b"x")])
        assert client.min_rev == result.rev
        await client.get("ns", "k")  # a read never raises it
        assert client.min_rev == result.rev
        client.min_rev = result.rev + 5  # carried from elsewhere: ahead of this store
        assert (await client.get("ns", "k")).payload == b"v1"  # RevAhead: the floor comes down
        assert client.min_rev == result.rev
        with pytest.raises(InvalidRequest):
            client.min_rev = -1


async def test_read_your_writes_off_keeps_the_floor_where_it_was_set(service: Service) -> None:
    transport = httpx.ASGITransport(app=create_app(service, Settings(data=None)))
    async with revkv.AsyncClient(
        "http://test", transport=transport, min_rev=0, read_your_writes=False
    ) as client:
        await client.put("ns", "k", b"v1")
        assert client.min_rev == 0
