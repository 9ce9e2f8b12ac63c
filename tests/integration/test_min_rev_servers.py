"""Reading your writes across servers: two `revkv serve --db` processes on one real
PostgreSQL. A client writes through A and reads through B naming the rev it got
(`X-Revkv-Min-Rev` or `?min_rev=`): B answers with the write, through every read door,
`/changes` and a watch included; a rev far ahead is 503 `RevNotReached` after B's
`min_rev_wait`; a malformed one is 400. `Client` does it by itself, behind a round-robin
"load balancer" too. A server that never hears the others' notifications (a store
opened with `listen=False`, in process) still catches up: it reads the database's rev.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator

import httpx
import pytest

import revkv
from revkv._config import Settings
from revkv._service import Service
from revkv.errors import InvalidRequest, RevNotReached
from revkv.http import create_app
from revkv.store._sql import SqlStore
from tests.asgi import asgi_client
from tests.servers import RevkvServer

NS = "ryw"
AHEAD = 10**12
WAIT = "0.5"  # B's min_rev_wait, so that a rev far ahead is answered soon


@pytest.fixture
def servers(pg_url: str) -> Iterator[tuple[RevkvServer, RevkvServer]]:
    first = RevkvServer(pg_url).start()
    second = RevkvServer(pg_url, "--min-rev-wait", WAIT).start()
    yield first, second
    first.stop()
    second.stop()


def _put(url: str, key: str, value: str) -> int:
    response = httpx.put(f"{url}/kv/{NS}/{key}", content=value, timeout=30)
    assert response.is_success, response.text
    rev: int = response.json()["rev"]
    return rev


def test_raw_http_reads_through_b_see_a_write_through_a(
    servers: tuple[RevkvServer, RevkvServer],
) -> None:
    first, second = servers
    for n in range(20):  # many rounds: each one a fresh race with B's notification
        rev = _put(first.url, "k", f"v{n}")
        by_header = httpx.get(
            f"{second.url}/kv/{NS}/k", headers={"X-Revkv-Min-Rev": str(rev)}, timeout=30
        )
        by_param = httpx.get(f"{second.url}/kv/{NS}/k/meta?min_rev={rev}", timeout=30)
        changes = httpx.get(
            f"{second.url}/changes", params={"since": rev - 1, "min_rev": rev}, timeout=30
        )
        health = httpx.get(f"{second.url}/health", headers={"X-Revkv-Min-Rev": str(rev)})
        assert (by_header.status_code, by_header.text) == (200, f"v{n}")
        assert by_param.json()["version"] == n + 1
        assert [e["rev"] for e in changes.json()["events"]] == [rev]
        assert changes.json()["rev"] >= rev
        assert health.json()["rev"] >= rev


def test_odata_reads_through_b_take_the_header(servers: tuple[RevkvServer, RevkvServer]) -> None:
    first, second = servers
    rev = _put(first.url, "odata-key", "x")
    response = httpx.get(
        f"{second.url}/odata/{NS}",
        headers={"X-Revkv-Min-Rev": str(rev), "Accept": "application/json"},
        timeout=30,
    )
    assert response.status_code == 200
    assert "odata-key" in response.text


def test_a_watch_through_b_with_the_rev_starts_at_the_write(
    servers: tuple[RevkvServer, RevkvServer],
) -> None:
    first, second = servers
    with revkv.Client(first.url) as writer:
        meta = writer.put(NS, "watched", "w")
        with revkv.Client(second.url, min_rev=writer.min_rev) as reader:
            watch = reader.watch(meta.rev - 1, namespace=NS)
            event = watch.next(timeout=30)
            watch.close()
    assert event is not None and event.commit is not None
    assert (event.rev, event.commit.text) == (meta.rev, "w")


def test_a_rev_far_ahead_is_503_with_retry_after(
    servers: tuple[RevkvServer, RevkvServer],
) -> None:
    _, second = servers
    response = httpx.get(
        f"{second.url}/kv/{NS}/k", headers={"X-Revkv-Min-Rev": str(AHEAD)}, timeout=30
    )
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    error = response.json()["error"]
    assert (error["code"], error["requested_rev"]) == ("RevNotReached", AHEAD)
    assert error["current_rev"] < AHEAD
    watch = httpx.get(f"{second.url}/watch/{NS}?min_rev={AHEAD}", timeout=30)
    assert watch.status_code == 503
    with revkv.Client(second.url, min_rev=AHEAD) as client, pytest.raises(RevNotReached) as info:
        client.get(NS, "k", default=None)
    assert info.value.requested_rev == AHEAD


def test_a_malformed_min_rev_is_400(servers: tuple[RevkvServer, RevkvServer]) -> None:
    _, second = servers
    for sent in ({"headers": {"X-Revkv-Min-Rev": "soon"}}, {"params": {"min_rev": "-3"}}):
        response = httpx.get(f"{second.url}/kv/{NS}/k", timeout=30, **sent)  # type: ignore[arg-type]
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "InvalidRequest"
    with pytest.raises(InvalidRequest):
        revkv.Client(second.url, min_rev=-1)


class RoundRobin(httpx.HTTPTransport):
    """A load balancer in a transport: each request goes to the next server's port."""

    def __init__(self, servers: tuple[RevkvServer, ...]) -> None:
        super().__init__()
        self.ports = itertools.cycle(server.port for server in servers)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(port=next(self.ports))
        return super().handle_request(request)


def test_a_client_behind_a_load_balancer_reads_its_own_writes(
    servers: tuple[RevkvServer, RevkvServer],
) -> None:
    first, _ = servers
    with revkv.Client(first.url, transport=RoundRobin(servers)) as client:
        for n in range(30):  # a write through one server, the next read through the other
            meta = client.put(NS, "mine", f"m{n}")
            assert client.min_rev == meta.rev
            assert client.get(NS, "mine").text == f"m{n}"
            assert client.rev >= meta.rev
            assert [e.rev for e in client.changes(meta.rev - 1, namespace=NS)] == [meta.rev]


def test_the_async_client_reads_its_own_writes_too(
    servers: tuple[RevkvServer, RevkvServer],
) -> None:
    first, second = servers

    async def run() -> None:
        async with revkv.AsyncClient(first.url) as writer:
            meta = await writer.put(NS, "async", "a")
            assert writer.min_rev == meta.rev
            async with revkv.AsyncClient(second.url, min_rev=writer.min_rev) as reader:
                assert (await reader.get(NS, "async")).text == "a"
                assert await reader.rev >= meta.rev

    asyncio.run(run())


@pytest.mark.asyncio
async def test_a_server_deaf_to_notifications_catches_up_by_reading_the_database(
    pg_url: str,
) -> None:
    writer = revkv.open(pg_url)
    deaf = Service(SqlStore(pg_url, listen=False))  # it never LISTENs
    try:
        app = create_app(deaf, Settings(data=None, min_rev_wait=0.5))
        rev = writer.put(NS, "quiet", "q").rev
        async with asgi_client(app) as client:
            stale = await client.get("/changes", params={"since": rev - 1})
            assert stale.json()["events"] == []  # it has not heard of rev `rev`
            fresh = await client.get("/changes", params={"since": rev - 1, "min_rev": rev})
            assert [e["rev"] for e in fresh.json()["events"]] == [rev]
            ahead = await client.get("/health", headers={"X-Revkv-Min-Rev": str(rev + 1)})
            assert ahead.status_code == 503
    finally:
        deaf.close()
        writer.close()


def test_the_embedded_store_has_one_view_so_a_rev_ahead_of_it_is_rev_ahead(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """One store, one view, a write acknowledged once durable: a min rev ahead of it was
    never made here (a repair or restore set it aside, or another store made it). The
    server says `RevAhead` (410) at once; a Client lowers its floor to the server's rev,
    with a warning, and reads on instead of failing every read from then on."""
    with RevkvServer(None, "--min-rev-wait", WAIT) as server, revkv.Client(server.url) as client:
        meta = client.put(NS, "k", "v")
        assert client.get(NS, "k").text == "v"  # sent with X-Revkv-Min-Rev: meta.rev
        ahead = meta.rev + 1_000
        response = httpx.get(f"{server.url}/kv/{NS}/k", headers={"X-Revkv-Min-Rev": str(ahead)})
        assert response.status_code == 410
        error = response.json()["error"]
        assert (error["code"], error["requested_rev"], error["current_rev"]) == (
            "RevAhead",
            ahead,
            meta.rev,
        )
        client.min_rev = ahead
        with caplog.at_level("WARNING", logger="revkv.client"):
            assert client.get(NS, "k").text == "v"
        assert client.min_rev == meta.rev
        assert f"behind rev {ahead}" in caplog.text
