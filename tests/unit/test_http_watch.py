"""Watches over HTTP in process: SSE framing, resume, keep-alives, compaction, long polls,
filters, and a thousand idle streams against one app.

httpx's ASGITransport buffers a whole response, so an SSE stream is driven straight
through the ASGI interface here (`SSE`): the app runs as a task, its sends are parsed
into frames as they come, and closing it sends `http.disconnect` as uvicorn would.
"""

from __future__ import annotations

import asyncio
import gc
import json
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette

import revkv
from revkv._config import Settings
from revkv._hub import Watch
from revkv._model import Check, Put
from revkv._service import Service
from revkv.http import create_app
from revkv.testing import open_service
from tests.asgi import asgi_client

pytestmark = pytest.mark.asyncio

KEEPALIVE = 0.2


@dataclass
class Frame:
    """One SSE block: an event (`event`, `data`, maybe `id`) or a comment."""

    event: str | None = None
    data: Any = None
    id: int | None = None
    comment: str | None = None


class SSE:
    """A GET streamed through the ASGI app; frames parsed as they arrive."""

    def __init__(self, app: Starlette, url: str, headers: dict[str, str] | None = None) -> None:
        parts = urlsplit(url)
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": parts.path,
            "raw_path": parts.path.encode(),
            "query_string": parts.query.encode(),
            "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
            "server": ("test", 80),
            "client": ("127.0.0.1", 5000),
            "root_path": "",
        }
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.ended = False
        self._started = asyncio.Event()
        self._chunks: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._buffer = b""
        self._request_sent = False
        self._disconnected = asyncio.Event()
        self.task = asyncio.create_task(app(scope, self._receive, self._send))
        self.task.add_done_callback(lambda _: self._chunks.put_nowait(None))

    async def _receive(self) -> dict[str, Any]:
        if not self._request_sent:
            self._request_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self._disconnected.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = {k.decode(): v.decode() for k, v in message["headers"]}
            self._started.set()
        elif message["type"] == "http.response.body":
            if message.get("body"):
                self._chunks.put_nowait(message["body"])
            if not message.get("more_body", False):
                self._chunks.put_nowait(None)

    async def started(self, timeout: float = 5) -> int:
        await asyncio.wait_for(self._started.wait(), timeout)
        assert self.status is not None
        return self.status

    async def frame(self, timeout: float = 5) -> Frame | None:
        """The next frame; None when the stream ended."""
        while b"\n\n" not in self._buffer:
            if self.ended:
                return None
            chunk = await asyncio.wait_for(self._chunks.get(), timeout)
            if chunk is None:
                self.ended = True
                if self.task.done() and self.task.exception() is not None:
                    raise AssertionError("the app failed") from self.task.exception()
            else:
                self._buffer += chunk
        block, self._buffer = self._buffer.split(b"\n\n", 1)
        return parse_frame(block.decode())

    async def event(self, timeout: float = 5) -> Frame:
        """The next event, skipping comments (keep-alives)."""
        while True:
            frame = await self.frame(timeout)
            assert frame is not None, "the stream ended"
            if frame.comment is None:
                return frame

    async def events(self, count: int, timeout: float = 5) -> list[Frame]:
        return [await self.event(timeout) for _ in range(count)]

    async def close(self) -> None:
        self._disconnected.set()
        await asyncio.wait_for(self.task, 5)


def parse_frame(block: str) -> Frame:
    frame = Frame()
    for line in block.split("\n"):
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "":
            frame.comment = value
        elif name == "id":
            frame.id = int(value)
        elif name == "event":
            frame.event = value
        elif name == "data":
            frame.data = json.loads(value)
        else:
            raise AssertionError(f"unexpected SSE line {line!r}")
    return frame


@pytest.fixture
def app(service: Service) -> Starlette:
    app = create_app(service)
    app.state.settings = replace(Settings(), watch_keepalive=KEEPALIVE)
    return app


@pytest.fixture
def service(request: pytest.FixtureRequest) -> Iterator[Service]:
    """Expiries are recorded within 50 ms here, so expire events come quickly. In memory,
    or in PostgreSQL for the tests marked `BOTH`: there every read of a watch runs on a
    worker thread (`Hub(offload=True)`), and the answers must be the same."""
    if getattr(request, "param", "memory") == "postgresql":
        service = revkv.open(request.getfixturevalue("pg_url"), sweep_interval=0.05)
    else:
        service = open_service(sweep_interval=0.05)
    yield service
    service.close()


BOTH = pytest.mark.parametrize("service", ["memory", "postgresql"], indirect=True)


@pytest_asyncio.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as client:
        yield client


@pytest_asyncio.fixture
async def streams() -> AsyncIterator[list[SSE]]:
    """Streams opened by a test: disconnected at its end."""
    opened: list[SSE] = []
    yield opened
    for stream in opened:
        if not stream.task.done():
            await stream.close()


async def open_sse(
    app: Starlette, streams: list[SSE], url: str, headers: dict[str, str] | None = None
) -> SSE:
    stream = SSE(app, url, headers)
    streams.append(stream)
    assert await stream.started() == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    first = await stream.frame()
    assert first is not None
    assert first.comment is not None
    assert first.comment.startswith("watching from rev ")
    return stream


async def put(service: Service, key: str, value: bytes = b"v", ns: str = "ns") -> int:
    return (await service.aput(ns, key, value)).rev


# -- framing and order -------------------------------------------------------------------------


@BOTH
async def test_events_are_framed_with_id_event_and_json_data(
    app: Starlette, service: Service, streams: list[SSE]
) -> None:
    stream = await open_sse(app, streams, "/watch/ns")
    rev = await put(service, "k", b"hello")
    frame = await stream.event()
    assert (frame.id, frame.event) == (rev, "put")
    assert frame.data["type"] == "put"
    assert frame.data["rev"] == rev
    commit = frame.data["commit"]
    assert commit == {**commit, "namespace": "ns", "key": "k", "version": 1, "deleted": False}
    assert "payload" not in commit and "payload_base64" not in commit
    deleted = await service.adelete("ns", "k")
    frame = await stream.event()
    assert (frame.id, frame.event, frame.data["commit"]["deleted"]) == (deleted.rev, "delete", True)


async def test_payloads_on_request(app: Starlette, service: Service, streams: list[SSE]) -> None:
    stream = await open_sse(app, streams, "/watch/ns?payloads=yes")
    await put(service, "k", b"\xffbytes")
    await put(service, "t", b"text")
    frame = await stream.event()
    assert frame.data["commit"]["payload_base64"] == "/2J5dGVz"  # not UTF-8
    frame = await stream.event()
    assert (frame.data["commit"]["payload"], "payload_base64" in frame.data) == ("text", False)


async def test_an_expiry_is_an_expire_event(
    app: Starlette, service: Service, streams: list[SSE]
) -> None:
    stream = await open_sse(app, streams, "/watch/ns")
    await service.aput("ns", "k", b"x", ttl=0.05)
    assert (await stream.event()).event == "put"
    expired = await stream.event(timeout=10)
    assert expired.event == "expire"
    assert expired.data["commit"]["author"] == "revkv"


@BOTH
async def test_events_come_in_rev_order(
    app: Starlette, service: Service, streams: list[SSE]
) -> None:
    stream = await open_sse(app, streams, "/watch/ns")
    revs = await asyncio.gather(*(put(service, f"k{n % 7}") for n in range(200)))
    frames = await stream.events(200)
    assert [f.id for f in frames] == sorted(revs)


async def test_keep_alive_comments_on_an_idle_stream(app: Starlette, streams: list[SSE]) -> None:
    stream = await open_sse(app, streams, "/watch/ns")
    frames = [await stream.frame() for _ in range(3)]
    assert [f.comment if f else None for f in frames] == ["keep-alive"] * 3


@BOTH
async def test_namespace_and_prefix_filters(
    app: Starlette, service: Service, streams: list[SSE]
) -> None:
    by_prefix = await open_sse(app, streams, "/watch/ns?prefix=app/")
    by_namespace = await open_sse(app, streams, "/watch/ns")
    everything = await open_sse(app, streams, "/watch")
    await put(service, "other")
    await put(service, "app/x", ns="elsewhere")
    await put(service, "app/x")
    await put(service, "apple")
    last = await put(service, "app/y")
    assert [f.data["commit"]["key"] for f in await by_prefix.events(2)] == ["app/x", "app/y"]
    namespace_keys = [f.data["commit"]["key"] for f in await by_namespace.events(4)]
    assert namespace_keys == ["other", "app/x", "apple", "app/y"]
    all_frames = await everything.events(5)
    assert [f.data["commit"]["namespace"] for f in all_frames].count("elsewhere") == 1
    assert all_frames[-1].id == last


@BOTH
async def test_a_transaction_is_one_rev_with_the_id_on_its_last_event(
    app: Starlette, service: Service, streams: list[SSE]
) -> None:
    stream = await open_sse(app, streams, "/watch/ns")
    result = await service.atxn(
        [Check("ns", "a", None)],
        [Put(namespace="ns", key=k, payload=b"x") for k in ("a", "b", "c")],
    )
    frames = await stream.events(3)
    assert [f.data["rev"] for f in frames] == [result.rev] * 3
    assert [f.id for f in frames] == [None, None, result.rev]
    after = await put(service, "d")
    assert (await stream.event()).id == after


# -- resume ----------------------------------------------------------------------------------


@BOTH
async def test_since_starts_after_that_rev(
    app: Starlette, service: Service, streams: list[SSE]
) -> None:
    revs = [await put(service, f"k{n}") for n in range(5)]
    stream = await open_sse(app, streams, f"/watch/ns?since={revs[1]}")
    assert [f.id for f in await stream.events(3)] == revs[2:]
    live = await put(service, "live")
    assert (await stream.event()).id == live


@BOTH
async def test_last_event_id_resumes_without_gap_or_repeat(
    app: Starlette, service: Service, streams: list[SSE]
) -> None:
    first = await open_sse(app, streams, "/watch/ns?since=0")
    revs = [await put(service, f"k{n}") for n in range(6)]
    seen = [f.id for f in await first.events(3)]
    await first.close()
    revs += [await put(service, f"later{n}") for n in range(2)]
    # an EventSource reconnects with its first URL and the Last-Event-ID header
    again = await open_sse(app, streams, "/watch/ns?since=0", {"Last-Event-ID": str(seen[-1])})
    seen += [f.id for f in await again.events(len(revs) - 3)]
    assert seen == revs
    assert (await again.frame()).comment == "keep-alive"  # type: ignore[union-attr]


async def test_resume_inside_a_transaction_is_impossible_by_construction(
    app: Starlette, service: Service, streams: list[SSE]
) -> None:
    """A client only learns the rev of a transaction's last event, so it resumes after it."""
    await put(service, "before")
    await service.atxn([], [Put(namespace="ns", key=k, payload=b"x") for k in "abc"])
    stream = await open_sse(app, streams, "/watch/ns?since=0")
    frames = await stream.events(4)
    ids = [f.id for f in frames if f.id is not None]
    assert len(ids) == 2
    again = await open_sse(app, streams, "/watch/ns", {"Last-Event-ID": str(ids[0])})
    assert [f.data["commit"]["key"] for f in await again.events(3)] == ["a", "b", "c"]


async def test_a_bad_since_is_400(client: httpx.AsyncClient) -> None:
    for headers, query in [({}, "since=x"), ({}, "since=-1"), ({"Last-Event-ID": "abc"}, "")]:
        response = await client.get(f"/watch/ns?{query}", headers=headers)
        assert response.status_code == 400, (headers, query)
        assert response.json()["error"]["code"] == "InvalidRequest"


@BOTH
async def test_a_filtered_watcher_far_behind_gets_its_events_at_once(
    app: Starlette, service: Service, streams: list[SSE]
) -> None:
    """More than a pull's worth (1000) of others' changes before ours must not make it sleep."""
    app.state.settings = replace(Settings(), watch_keepalive=60)
    for n in range(2500):
        service.put("ns", f"other{n % 10}", b"x")
    mine = await put(service, "mine")
    stream = await open_sse(app, streams, "/watch/ns?prefix=mine&since=0")
    frame = await stream.event(timeout=10)  # not after 3 keep-alive periods
    assert frame.id == mine


# -- compaction --------------------------------------------------------------------------------


@pytest.fixture
def small_log() -> Iterator[Service]:
    service = open_service(change_log_size=5)
    for n in range(20):
        service.put("ns", f"k{n % 3}", f"v{n}".encode())
    yield service
    service.close()


async def test_410_gone_with_the_oldest_rev_when_compacted(small_log: Service) -> None:
    app = create_app(small_log)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for url in ("/watch/ns?since=1", "/watch/ns?since=1&wait=1s", "/watch?since=0"):
            response = await client.get(url)
            assert response.status_code == 410, url
            error = response.json()["error"]
            assert error["code"] == "Compacted"
            oldest = error["oldest_rev"]
            assert 0 < oldest < 20
        resumed = await client.get(f"/watch/ns?since={oldest}&wait=0")
        assert resumed.status_code == 200
        assert [e["rev"] for e in resumed.json()["events"]] == list(range(oldest + 1, 21))


async def test_resync_sends_a_reset_with_the_current_state_first(
    small_log: Service, streams: list[SSE]
) -> None:
    app = create_app(small_log)
    stream = await open_sse(app, streams, "/watch/ns?since=1&resync=true")
    reset = await stream.event()
    assert reset.event == "reset"
    assert reset.id == 20
    state = {c["key"]: c["version"] for c in reset.data["state"]}
    assert state == {"k0": 7, "k1": 7, "k2": 6}
    live = await put(small_log, "k0")
    assert (await stream.event()).id == live


async def test_a_stream_that_falls_behind_the_log_ends_with_an_error_event(
    small_log: Service, streams: list[SSE]
) -> None:
    app = create_app(small_log)
    stream = await open_sse(app, streams, "/watch/ns")
    for n in range(20):  # the stream's task cannot run until this loop yields
        small_log.put("ns", "burst", f"{n}".encode())
    frame = await stream.event()
    assert frame.event == "error"
    assert frame.data["error"]["code"] == "Compacted"
    assert frame.data["error"]["oldest_rev"] > 20
    assert await stream.frame() is None


# -- long poll -----------------------------------------------------------------------------------


@BOTH
async def test_long_poll_answers_at_once_when_there_are_changes(
    client: httpx.AsyncClient, service: Service
) -> None:
    revs = [await put(service, f"k{n}") for n in range(3)]
    response = await client.get(f"/watch/ns?since={revs[0]}&wait=60s")
    assert response.status_code == 200
    body = response.json()
    assert [e["rev"] for e in body["events"]] == revs[1:]
    assert body["rev"] == revs[-1]
    assert response.headers["x-revkv-index"] == str(revs[-1])


async def test_long_poll_waits_then_answers_no_events_and_the_current_rev(
    client: httpx.AsyncClient, service: Service
) -> None:
    await put(service, "k")
    await put(service, "other", ns="elsewhere")  # no concern of this poll
    response = await client.get("/watch/ns?since=1&wait=200ms")
    body = response.json()
    assert body == {"rev": 2, "events": []}
    assert response.headers["x-revkv-index"] == "2"
    assert (await client.get("/watch/ns?wait=0")).json() == {"rev": 2, "events": []}


@BOTH
async def test_long_poll_returns_when_a_change_comes(
    client: httpx.AsyncClient, service: Service
) -> None:
    start = await put(service, "k")
    poll = asyncio.create_task(client.get(f"/watch/ns?since={start}&wait=60s&prefix=k"))
    await asyncio.sleep(0.05)
    await put(service, "x")  # does not match: the poll keeps waiting
    await asyncio.sleep(0.05)
    assert not poll.done()
    rev = await put(service, "k")
    body = (await asyncio.wait_for(poll, 10)).json()
    assert [e["rev"] for e in body["events"]] == [rev]
    assert body["rev"] == rev


@BOTH
async def test_long_poll_pages_cut_between_revs(
    client: httpx.AsyncClient, service: Service
) -> None:
    for n in range(998):
        service.put("ns", f"k{n}", b"x")
    txn = await service.atxn([], [Put(namespace="ns", key=f"t{n}", payload=b"x") for n in range(5)])
    expected = [*range(1, 999), *[txn.rev] * 5, *range(txn.rev + 1, txn.rev + 301)]
    for n in range(300):
        service.put("ns", f"after{n}", b"x")
    seen: list[int] = []
    since = 0
    while True:
        body = (await client.get(f"/watch/ns?since={since}&wait=0")).json()
        if not body["events"]:
            break
        seen += [e["rev"] for e in body["events"]]
        assert body["rev"] == seen[-1]
        since = body["rev"]
    assert seen == expected
    assert len((await client.get("/watch/ns?since=0&wait=0")).json()["events"]) == 1003


@BOTH
async def test_long_poll_of_a_filtered_watcher_far_behind(
    client: httpx.AsyncClient, service: Service
) -> None:
    for n in range(2500):
        service.put("ns", f"other{n % 10}", b"x")
    mine = await put(service, "mine")
    response = await asyncio.wait_for(client.get("/watch/ns?prefix=mine&since=0&wait=60s"), 10)
    assert [e["rev"] for e in response.json()["events"]] == [mine]


@pytest.mark.parametrize("wait", ["soon", "-1s", "1h", "s"])
async def test_long_poll_bad_wait_is_400(client: httpx.AsyncClient, wait: str) -> None:
    response = await client.get("/watch/ns", params={"wait": wait})
    assert response.status_code == 400


# -- lifecycle -----------------------------------------------------------------------------------


@BOTH
async def test_the_pages_live_stream_resumes_as_watch_does(
    app: Starlette, service: Service, streams: list[SSE]
) -> None:
    revs = [await put(service, f"k{n}") for n in range(4)]
    url = f"/ui/live?ns=ns&since={revs[0]}"
    stream = await open_sse(app, streams, url, {"Last-Event-ID": str(revs[1])})
    assert [f.id for f in await stream.events(2)] == revs[2:]
    revs.append(await put(service, "live"))
    assert (await stream.event()).id == revs[-1]


@BOTH
async def test_shutdown_tells_each_stream_and_ends_it(
    app: Starlette, service: Service, streams: list[SSE]
) -> None:
    watching = [await open_sse(app, streams, f"/watch/ns?prefix={n}") for n in range(3)]
    service.stop_watches()
    for stream in watching:
        frame = await stream.frame()
        assert frame is not None
        assert frame.event == "shutdown"
        assert await stream.frame() is None
        await asyncio.wait_for(stream.task, 5)


@BOTH
async def test_a_disconnected_stream_stops_watching(
    app: Starlette, service: Service, streams: list[SSE]
) -> None:
    hub = service.hub
    stream = await open_sse(app, streams, "/watch/ns")
    assert hub.watchers == 1
    await stream.close()
    gc.collect()
    assert hub.watchers == 0
    assert not hub._loops  # the loop's dispatcher went with its last watcher


async def test_too_many_watchers_is_503(
    app: Starlette, client: httpx.AsyncClient, streams: list[SSE]
) -> None:
    app.state.settings = replace(Settings(), watch_keepalive=KEEPALIVE, max_watchers=2)
    await open_sse(app, streams, "/watch/ns")
    await open_sse(app, streams, "/watch/ns")
    refused = await client.get("/watch/ns?wait=0")
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "Busy"
    assert refused.headers["retry-after"]


# -- many watchers -------------------------------------------------------------------------------


@pytest.fixture
def wakes(monkeypatch: pytest.MonkeyPatch) -> dict[str | None, int]:
    """How often watches were woken, by their prefix."""
    counts: dict[str | None, int] = {}
    original = Watch._wake

    def counting(self: Watch) -> None:
        counts[self.prefix] = counts.get(self.prefix, 0) + 1
        original(self)

    monkeypatch.setattr(Watch, "_wake", counting)
    return counts


@pytest.mark.slow
async def test_a_thousand_idle_streams_cost_little_and_a_write_wakes_only_its_own(
    service: Service, streams: list[SSE], wakes: dict[str | None, int]
) -> None:
    app = create_app(service)
    app.state.settings = replace(Settings(), watch_keepalive=600)
    hub = service.hub
    await open_sse(app, streams, "/watch/ns?prefix=warm-up")  # the loop's dispatcher, imports
    gc.collect()
    tracemalloc.start(3)  # deep enough to tell this file's harness from the app
    try:
        before = tracemalloc.take_snapshot()
        idle = [await open_sse(app, streams, f"/watch/ns?prefix=p{n}/") for n in range(1000)]
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    not_harness = [tracemalloc.Filter(False, "*/tests/*", all_frames=True)]
    grown = after.filter_traces(not_harness).compare_to(
        before.filter_traces(not_harness), "filename"
    )
    per_watcher = sum(stat.size_diff for stat in grown) / 1000
    # the budget: 10,000 idle watchers in at most a few hundred MB (about 21 KB here)
    assert per_watcher < 30_000, f"{per_watcher:.0f} bytes per idle watcher"
    assert hub.watchers == 1001
    print(f"{per_watcher:.0f} bytes per idle watcher")
    assert per_watcher < 40_000, f"{per_watcher:.0f} bytes per idle watcher"

    wakes.clear()
    rev = await put(service, "p7/x")
    frame = await idle[7].event()
    assert frame.id == rev
    await asyncio.sleep(0.05)  # let any wrongly woken stream run
    assert wakes == {"p7/": 1}  # one write, one watcher woken

    wakes.clear()
    await put(service, "nobody/x")
    await asyncio.sleep(0.05)
    assert wakes == {}
    for stream in idle[:10]:
        assert stream._chunks.empty()


async def test_idle_watchers_of_other_prefixes_add_no_wakeups_to_a_write(
    service: Service, streams: list[SSE], wakes: dict[str | None, int]
) -> None:
    """The work a write causes is counted, not timed: wake-ups with and without 1,000 others."""
    app = create_app(service)
    app.state.settings = replace(Settings(), watch_keepalive=600)
    mine = await open_sse(app, streams, "/watch/ns?prefix=mine/")

    async def woken_by_writes() -> dict[str | None, int]:
        wakes.clear()
        for n in range(20):
            await put(service, f"mine/{n}")
        assert len(await mine.events(20)) == 20
        return dict(wakes)

    alone = await woken_by_writes()
    for n in range(1000):
        await open_sse(app, streams, f"/watch/ns?prefix=other{n}/")
    with_others = await woken_by_writes()
    assert set(alone) == set(with_others) == {"mine/"}  # none of the 1,000 was woken
    assert 1 <= with_others["mine/"] <= 20  # at most once per write, as when alone


# -- known faults outside the HTTP door ------------------------------------------------------------


async def test_hub_watch_reads_past_pages_of_others_changes(service: Service) -> None:
    for n in range(2500):
        service.put("ns", f"other{n % 10}", b"x")
    mine = await put(service, "mine")
    with service.watch(0, namespace="ns", prefix="mine", resync=False) as blocking:
        found = blocking.next(timeout=0.3)
        assert found is not None
        assert found.rev == mine
    with service.watch(0, namespace="ns", prefix="mine", resync=False) as watching:
        event = await watching.anext(timeout=0.3)
        assert event is not None
        assert event.rev == mine


@BOTH
async def test_shutdown_shows_what_was_durable_before_it(
    app: Starlette, service: Service, streams: list[SSE]
) -> None:
    stream = await open_sse(app, streams, "/watch/ns")
    last = service.put("ns", "k", b"x").rev  # the stream cannot run before the close
    service.stop_watches()
    frame = await stream.frame()
    assert frame is not None
    assert (frame.event, frame.id) == ("put", last)


@BOTH
async def test_change_feed_pages_resume_without_a_gap(
    client: httpx.AsyncClient, service: Service
) -> None:
    revs = [await put(service, f"k{n}") for n in range(15)]
    seen: list[int] = []
    since = 0
    for _ in range(5):
        body = (await client.get(f"/changes?since={since}&limit=10")).json()
        seen += [e["rev"] for e in body["events"]]
        since = body["rev"]
    assert seen == revs
