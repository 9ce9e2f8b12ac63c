"""Watches through the client: order, resuming after a cut, compaction (410), shutdown.

Real `revkv serve` processes, a TCP relay that cuts connections as a network would,
and, where a store must be configured in a way the CLI does not offer (a small change
log), uvicorn on a thread serving the app over an embedded store made here. The
resume position itself is checked line by line, without a server, at the end.
"""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest
import uvicorn

import revkv
from revkv._model import Check, Event, Put
from revkv.client._watch import WatchSession
from revkv.http import create_app
from tests.servers import RevkvServer, free_port

NS = "w"


class Relay:
    """A TCP relay to a port that can `cut()` every connection through it."""

    def __init__(self, port: int) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._target = port
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                near, _ = self._listener.accept()
            except OSError:
                return
            try:
                far = socket.create_connection(("127.0.0.1", self._target))
            except OSError:
                near.close()
                continue
            with self._lock:
                self._sockets += [near, far]
            for source, sink in ((near, far), (far, near)):
                threading.Thread(target=self._relay, args=(source, sink), daemon=True).start()

    @staticmethod
    def _relay(source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for end in (source, sink):
            with suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        with self._lock:
            ends, self._sockets = self._sockets, []
        for end in ends:
            with suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()

    def close(self) -> None:
        self._listener.close()
        self.cut()


class InProcessServer:
    """uvicorn on a thread, serving `create_app` over a store configured by the test."""

    def __init__(self, service: revkv.Service) -> None:
        self.service = service
        self.port = free_port()
        config = uvicorn.Config(
            create_app(self.service), port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> InProcessServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.service.stop_watches()  # ends the streams, as `revkv serve` does
        self._server.should_exit = True
        self._thread.join(10)
        self.service.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RevkvServer]:
    with RevkvServer(tmp_path / "data") as running:
        yield running


def collect(watch: revkv.client.Watch, count: int, timeout: float = 20) -> list[Event]:
    events: list[Event] = []
    deadline = time.monotonic() + timeout
    while len(events) < count and time.monotonic() < deadline:
        event = watch.next(timeout=max(0.0, deadline - time.monotonic()))
        if event is None:
            break
        events.append(event)
    return events


def identity(events: list[Event]) -> list[tuple[int, str, str, int]]:
    return [(e.rev, e.type, e.commit.key, e.commit.version) for e in events if e.commit]


def test_events_come_in_rev_order_with_their_payloads(server: RevkvServer) -> None:
    with revkv.Client(server.url) as client:
        client.put(NS, "a", b"1")
        client.txn([Check(NS, "b", None)], [Put(namespace=NS, key=k, payload=k) for k in "bcd"])
        client.delete(NS, "a")
        client.put("other", "x", b"not watched")
        with client.watch(0, namespace=NS) as watch:
            client.put(NS, "e", b"\x00\xff")
            events = collect(watch, 6)
        expected = client.changes(0, namespace=NS)
    assert identity(events) == identity(expected)
    assert [e.rev for e in events] == sorted(e.rev for e in events)
    assert events[-1].commit is not None
    assert events[-1].commit.payload == b"\x00\xff"
    assert events[1].rev == events[2].rev == events[3].rev  # one transaction, one rev


def test_a_cut_connection_resumes_without_missing_or_repeating(server: RevkvServer) -> None:
    relay = Relay(server.port)
    writes = 60
    with revkv.Client(server.url) as writer, revkv.Client(relay.url) as reader:
        with reader.watch(namespace=NS) as watch:

            def write() -> None:
                for i in range(writes):
                    writer.put(NS, f"k{i % 7}", str(i))
                    if i % 3 == 0:
                        three = [Put(namespace=NS, key=f"t{i}.{j}", payload=b"") for j in range(3)]
                        writer.txn([], three)
                    if i % 10 == 5:
                        relay.cut()

            thread = threading.Thread(target=write)
            thread.start()
            events = collect(watch, writes + writes // 3 * 3)
            thread.join()
        expected = writer.changes(0, namespace=NS, limit=10_000)
    relay.close()
    assert identity(events) == identity(expected)


def test_a_watch_from_now_resumes_where_it_started(server: RevkvServer) -> None:
    relay = Relay(server.port)
    with revkv.Client(server.url) as writer, revkv.Client(relay.url) as reader:
        writer.put(NS, "before", b"")
        with reader.watch(namespace=NS) as watch:
            relay.cut()  # before any event: resume from the rev the stream started at
            meta = writer.put(NS, "after", b"")
            events = collect(watch, 1)
            assert watch.next(timeout=0.3) is None
    relay.close()
    assert [(e.rev, e.commit.key) for e in events if e.commit] == [(meta.rev, "after")]


def test_a_killed_server_is_resumed_once_it_is_back(tmp_path: Path) -> None:
    server = RevkvServer(tmp_path / "data").start()
    try:
        with revkv.Client(server.url) as client, client.watch(0, namespace=NS) as watch:
            client.put(NS, "a", b"1")
            first = collect(watch, 1)
            server.stop(signal.SIGKILL)
            server.start()  # the same directory and port
            client.put(NS, "a", b"2")
            client.put(NS, "b", b"1")
            rest = collect(watch, 2)
            assert watch.next(timeout=0.3) is None
            expected = client.changes(0, namespace=NS)
    finally:
        server.stop()
    assert identity(first + rest) == identity(expected)


def test_shutdown_ends_the_stream(server: RevkvServer) -> None:
    with revkv.Client(server.url) as client, client.watch(namespace=NS) as watch:
        stopping = threading.Thread(target=server.stop)
        started = time.monotonic()
        stopping.start()
        assert list(watch) == []  # iteration ends: no reconnecting to a server that left
        assert time.monotonic() - started < 10
        stopping.join()


def test_revkv_serve_with_a_small_change_log_answers_410(tmp_path: Path) -> None:
    server = RevkvServer(tmp_path / "data", "--change-log-size", "5")
    try:
        with server, revkv.Client(server.url) as client:
            for i in range(20):
                client.put(NS, "k", str(i))
            with pytest.raises(revkv.Compacted):
                client.watch(0, namespace=NS)
    finally:
        server.stop()  # a server that failed to start keeps its stderr pipe open otherwise


def test_a_compacted_history_answers_410_with_the_oldest_rev() -> None:
    server = InProcessServer(revkv.open(change_log_size=5))
    with server, revkv.Client(server.url) as client:
        for i in range(20):
            client.put(NS, "k", str(i))
        with pytest.raises(revkv.Compacted) as info:
            client.watch(1, namespace=NS)
        assert info.value.requested_rev == 1
        assert 1 < info.value.oldest_rev < 20
        with client.watch(info.value.oldest_rev, namespace=NS) as watch:
            assert watch.next(timeout=5) is not None
        with client.watch(1, namespace=NS, resync=True) as watch:
            reset = watch.next(timeout=5)
            assert reset is not None
            assert reset.type == "reset"
            assert [(c.key, c.payload) for c in reset.state or []] == [("k", b"19")]
            client.put(NS, "k", b"live")
            live = watch.next(timeout=5)
            assert live is not None
            assert live.commit is not None
            assert live.commit.payload == b"live"


@pytest.mark.asyncio
async def test_the_async_watch_orders_resumes_and_ends(server: RevkvServer) -> None:
    relay = Relay(server.port)
    async with revkv.AsyncClient(server.url) as writer, revkv.AsyncClient(relay.url) as reader:
        watch = await reader.watch(0, namespace=NS)
        async with watch:
            for i in range(10):
                await writer.put(NS, "k", str(i))
                if i == 4:
                    relay.cut()
            events = [await watch.anext(timeout=10) for _ in range(10)]
            assert await watch.anext(timeout=0) is None
        expected = await writer.changes(0, namespace=NS)
        assert identity([e for e in events if e]) == identity(expected)
        ending = await writer.watch(namespace=NS)
        stopping = threading.Thread(target=server.stop)
        stopping.start()
        assert [e async for e in ending] == []
        stopping.join()
    relay.close()


# -- the resume position, line by line ----------------------------------------------


def event_lines(rev: int, key: str) -> list[str]:
    commit = {
        "key": key, "version": 1, "author": "", "comment": "", "empty": False, "namespace": NS,
        "mtime": "2026-01-01T00:00:00.000Z", "rev": rev, "expires": None, "payload_base64": "",
    }  # fmt: skip
    data = json.dumps({"type": "put", "rev": rev, "commit": commit})
    return [f"id: {rev}", "event: put", f"data: {data}", ""]


def feed(session: WatchSession, lines: list[str]) -> list[tuple[int, str]]:
    events = [session.feed(line) for line in lines]
    return [(e.rev, e.commit.key) for e in events if e is not None and e.commit is not None]


def test_a_resume_inside_a_transaction_skips_only_what_was_handed_out() -> None:
    session = WatchSession(3, NS, None, False)
    assert session.call().params["since"] == "3"
    txn = [*event_lines(5, "a"), *event_lines(5, "b"), *event_lines(5, "c")]
    assert feed(session, txn[:8]) == [(5, "a"), (5, "b")]  # then the connection drops
    call = session.call()
    assert call.params["since"] == "4"
    assert call.headers[b"Last-Event-ID"] == b"4"
    assert feed(session, [*txn, *event_lines(6, "d")]) == [(5, "c"), (6, "d")]
    assert session.call().params["since"] == "5"  # rev 6 may be a transaction as well


def test_a_resume_before_any_event_starts_where_the_watch_did() -> None:
    session = WatchSession(7, NS, "p/", True)
    first = session.call()
    assert (first.path, first.params["prefix"], first.params["resync"]) == ("/watch/w", "p/", "yes")
    feed(session, [": watching from rev 7", "", ": keep-alive", ""])
    assert session.call().params["since"] == "7"


def test_a_reset_is_a_complete_position_and_shutdown_ends() -> None:
    session = WatchSession(1, NS, None, True)
    reset = ["event: reset", 'data: {"type":"reset","rev":9,"state":[]}', ""]
    assert [session.feed(line) for line in reset][-1] == Event("reset", 9, None, [])
    assert session.call().params["since"] == "9"
    feed(session, ["event: shutdown", "data: {}", ""])
    assert session.ended


def test_an_error_event_raises_its_error() -> None:
    session = WatchSession(1, NS, None, False)
    error = {"error": {"code": "Compacted", "message": "too far behind", "oldest_rev": 40}}
    feed(session, ["event: error", f"data: {json.dumps(error)}"])
    with pytest.raises(revkv.Compacted) as info:
        session.feed("")
    assert (info.value.oldest_rev, info.value.requested_rev) == (40, 1)
