"""Watches against a real `revkv serve`: SSE and long polls over TCP, resume across a
restart, the server letting go of a closed stream, and SIGTERM with a stream open."""

from __future__ import annotations

import json
import queue
import re
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers import RevkvServer

pytestmark = pytest.mark.slow

KEEPALIVE = 0.3


@dataclass
class Frame:
    event: str | None = None
    data: Any = None
    id: int | None = None
    comment: str | None = None


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
    return frame


class EventStream(threading.Thread):
    """An SSE GET read on a thread; frames (then None at the end) land in `frames`."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(daemon=True)
        self.url, self.headers = url, headers or {}
        self.frames: queue.Queue[Frame | BaseException | None] = queue.Queue()
        self.status: int | None = None
        self._closing = threading.Event()
        self.start()

    def run(self) -> None:
        try:
            with (
                httpx.Client(timeout=httpx.Timeout(10, read=10)) as client,
                client.stream("GET", self.url, headers=self.headers) as response,
            ):
                self.status = response.status_code
                buffer = ""
                for text in response.iter_text():
                    buffer += text
                    while "\n\n" in buffer:
                        block, buffer = buffer.split("\n\n", 1)
                        self.frames.put(parse_frame(block))
                    if self._closing.is_set():
                        return
            self.frames.put(None)
        except BaseException as exc:  # handed to the test
            self.frames.put(exc)

    def frame(self, timeout: float = 10) -> Frame | None:
        item = self.frames.get(timeout=timeout)
        if isinstance(item, BaseException):
            raise item
        return item

    def event(self, timeout: float = 10) -> Frame:
        while True:
            frame = self.frame(timeout)
            assert frame is not None, "the stream ended"
            if frame.comment is None:
                return frame

    def close(self) -> None:
        self._closing.set()
        self.join(timeout=10)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "revkv.toml"
    path.write_text(f"watch_keepalive = {KEEPALIVE}\n")
    return path


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def server(data: Path, config: Path) -> Iterator[RevkvServer]:
    with RevkvServer(data, "--config", str(config)) as server:
        yield server


def put(server: RevkvServer, key: str, value: bytes = b"v") -> int:
    response = httpx.put(f"{server.url}/kv/ns/{key}", content=value, timeout=10)
    response.raise_for_status()
    rev: int = response.json()["rev"]
    return rev


def test_sse_over_tcp(server: RevkvServer) -> None:
    stream = EventStream(f"{server.url}/watch/ns?prefix=k")
    try:
        first = stream.frame()
        assert first is not None
        assert first.comment is not None
        assert stream.status == 200
        revs = [put(server, f"k{n}") for n in range(3)]
        put(server, "other")
        frames = [stream.event() for _ in range(3)]
        assert [(f.id, f.event) for f in frames] == [(rev, "put") for rev in revs]
        assert [f.data["commit"]["key"] for f in frames] == ["k0", "k1", "k2"]
        keepalive = stream.frame()
        assert keepalive is not None
        assert keepalive.comment == "keep-alive"
    finally:
        stream.close()


def test_long_poll_over_tcp(server: RevkvServer) -> None:
    start = put(server, "k")
    answer: queue.Queue[httpx.Response] = queue.Queue()
    poller = threading.Thread(
        target=lambda: answer.put(
            httpx.get(f"{server.url}/watch/ns?since={start}&wait=60s", timeout=70)
        )
    )
    poller.start()
    time.sleep(0.3)
    assert answer.empty()  # still waiting
    rev = put(server, "k")
    response = answer.get(timeout=10)
    poller.join()
    assert response.json() == {"rev": rev, "events": response.json()["events"]}
    assert [e["rev"] for e in response.json()["events"]] == [rev]
    assert response.headers["x-revkv-index"] == str(rev)


def watchers(server: RevkvServer) -> int:
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    match = re.search(r"^revkv_watchers (\d+(?:\.\d+)?)$", text, re.MULTILINE)
    assert match, "revkv_watchers is not in /metrics"
    return int(float(match.group(1)))


def test_the_server_lets_go_of_a_closed_stream(server: RevkvServer) -> None:
    if httpx.get(f"{server.url}/metrics", timeout=10).status_code == 404:
        pytest.skip("this server has no /metrics")
    streams = [EventStream(f"{server.url}/watch/ns") for _ in range(5)]
    for stream in streams:
        assert stream.frame() is not None
    assert watchers(server) == 5
    for stream in streams:
        stream.close()
    deadline = time.monotonic() + 10
    while watchers(server) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert watchers(server) == 0


def test_resume_with_last_event_id_across_a_restart(data: Path, config: Path) -> None:
    with RevkvServer(data, "--config", str(config)) as server:
        before = [put(server, f"k{n}") for n in range(3)]
        stream = EventStream(f"{server.url}/watch/ns?since=0")
        try:
            seen = [stream.event().id for _ in range(3)]
        finally:
            stream.close()
        assert seen == before
    with RevkvServer(data, "--config", str(config)) as server:
        after = [put(server, f"k{n}") for n in range(2)]
        stream = EventStream(f"{server.url}/watch/ns?since=0", {"Last-Event-ID": str(seen[-1])})
        try:
            resumed = [stream.event() for _ in range(2)]
            assert [f.id for f in resumed] == after
            assert stream.frame().comment == "keep-alive"  # type: ignore[union-attr]
        finally:
            stream.close()
        poll = httpx.get(f"{server.url}/watch/ns?since={seen[-1]}&wait=0", timeout=10).json()
        assert [e["rev"] for e in poll["events"]] == after


def test_sigterm_ends_open_streams_and_keeps_acknowledged_writes(data: Path, config: Path) -> None:
    server = RevkvServer(data, "--config", str(config)).start()
    acknowledged: list[tuple[str, int]] = []
    stop = threading.Event()

    def write() -> None:
        with httpx.Client(timeout=10) as client:
            for n in range(100_000):
                if stop.is_set():
                    return
                try:
                    response = client.put(f"{server.url}/kv/ns/w{n}", content=b"%d" % n)
                except httpx.TransportError:
                    return
                if response.status_code // 100 == 2:
                    acknowledged.append((f"w{n}", response.json()["version"]))

    stream = EventStream(f"{server.url}/watch/ns")
    writer = threading.Thread(target=write)
    try:
        assert stream.frame() is not None
        writer.start()
        while len(acknowledged) < 20:
            time.sleep(0.01)
        started = time.monotonic()
        code = server.stop(signal.SIGTERM)
        took = time.monotonic() - started
    finally:
        stop.set()
        writer.join(timeout=30)
        server.stop(signal.SIGKILL)
    events = []
    while (frame := stream.frame()) is not None:
        events.append(frame)
    stream.close()
    assert events[-1].event == "shutdown"  # only the graceful path sends it
    assert code in (0, -signal.SIGTERM)  # uvicorn re-raises SIGTERM once it has shut down
    assert took < 8  # not the 10 s of uvicorn's graceful timeout: the stream let go

    streamed = [f.data["commit"]["key"] for f in events if f.event == "put"]
    last_id = max(f.id for f in events if f.id is not None)
    with RevkvServer(data, "--config", str(config)) as again:
        for key, version in acknowledged:
            got = httpx.get(f"{again.url}/kv/ns/{key}/{version}", timeout=10)
            assert got.status_code == 200, key
            assert got.content == key[1:].encode()
        # what the stream had not shown before it ended comes on resuming, once
        resumed = EventStream(f"{again.url}/watch/ns", {"Last-Event-ID": str(last_id)})
        try:
            rest = []
            while (frame := resumed.frame()) is not None and frame.comment != "keep-alive":
                if frame.event == "put":
                    assert frame.data["rev"] > last_id
                    rest.append(frame.data["commit"]["key"])
        finally:
            resumed.close()
    assert not set(streamed) & set(rest)
    assert {key for key, _ in acknowledged} <= {*streamed, *rest}
