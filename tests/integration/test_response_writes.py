"""A response's head and body leave in one write (revkv.http._protocol.OneWriteCycle).

The count of writes is seen through the protocol itself, driven by a transport that
records what it is given (the one thing a socket cannot tell a client: how the bytes
were cut). What a client receives is checked against a real `revkv serve` over raw
sockets: HEAD, empty bodies, pipelined requests, `Connection: close`, a large body, and
a streamed answer whose head must come before its first event.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState

from revkv.http._protocol import JOIN_LIMIT, Limits, protocol_class
from tests.servers import RevkvServer


class RecordingTransport(asyncio.Transport):
    """Keeps every write, so a test can count them."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5000), "sockname": ("127.0.0.1", 8000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def plain(scope: Any, receive: Any, send: Any) -> None:
    body = b"x" * int(scope["query_string"] or b"5")
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def streamed(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"one", "more_body": True})
    await send({"type": "http.response.body", "body": b""})


async def writes_for(app: Any, request: bytes) -> list[bytes]:
    """The writes the protocol makes to answer `request` with `app`."""
    config = Config(app, lifespan="off", log_level="warning")
    protocol = protocol_class(Limits())(config=config, server_state=ServerState(), app_state={})
    transport = RecordingTransport()
    protocol.connection_made(transport)
    protocol.data_received(request)
    for _ in range(20):  # let the app's task run to its end
        await asyncio.sleep(0)
    protocol.connection_lost(None)
    return transport.writes


GET = b"GET /?%d HTTP/1.1\r\nHost: t\r\n\r\n"


def test_a_response_with_a_length_is_one_write() -> None:
    writes = asyncio.run(writes_for(plain, GET % 5))
    assert len(writes) == 1
    assert writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert writes[0].endswith(b"\r\n\r\nxxxxx")


def test_an_empty_body_and_a_head_request_still_send_the_head() -> None:
    for request in (GET % 0, b"HEAD /?5 HTTP/1.1\r\nHost: t\r\n\r\n"):
        writes = asyncio.run(writes_for(plain, request))
        assert len(writes) == 1
        assert writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
        assert writes[0].endswith(b"\r\n\r\n")


def test_a_large_body_follows_its_head_without_being_copied() -> None:
    writes = asyncio.run(writes_for(plain, GET % (JOIN_LIMIT + 1)))
    assert len(writes) == 2
    assert writes[0].endswith(b"\r\n\r\n")
    assert writes[1] == b"x" * (JOIN_LIMIT + 1)


def test_a_streamed_answer_sends_its_head_at_once() -> None:
    writes = asyncio.run(writes_for(streamed, GET % 0))
    assert writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert writes[0].endswith(b"transfer-encoding: chunked\r\n\r\n")
    assert b"".join(writes[1:]) == b"3\r\none\r\n0\r\n\r\n"


# -- what a client of a real server receives -------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[RevkvServer]:
    with RevkvServer(None) as server:
        put = (
            b"PUT /kv/w/big HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % (200_000,)
            + b"b" * 200_000
        )
        with socket.create_connection(("127.0.0.1", server.port), timeout=15) as sock:
            sock.sendall(put)
            assert sock.recv(65536).startswith(b"HTTP/1.1 201")
        yield server


def exchange(server: RevkvServer, request: bytes) -> bytes:
    """Send `request` and read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


def test_pipelined_requests_are_answered_whole_and_in_order(server: RevkvServer) -> None:
    request = b"GET /kv/w/big HTTP/1.1\r\nHost: t\r\n\r\n"
    head = b"HEAD /kv/w/big HTTP/1.1\r\nHost: t\r\n\r\n"
    missing = b"GET /kv/w/none HTTP/1.1\r\nHost: t\r\n\r\n"
    last = b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    data = exchange(server, request + head + missing + last)
    first, rest = data.split(b"\r\n\r\n", 1)
    assert first.startswith(b"HTTP/1.1 200")
    assert rest.startswith(b"b" * 200_000)
    rest = rest[200_000:]
    assert rest.startswith(b"HTTP/1.1 200")  # the HEAD: a head, no body
    head_answer, rest = rest.split(b"\r\n\r\n", 1)
    assert b"content-length: 200000" in head_answer.lower()
    assert rest.startswith(b"HTTP/1.1 404")
    assert b"HTTP/1.1 200" in rest.split(b"\r\n\r\n", 1)[1]


def test_a_streamed_answer_shows_its_head_before_any_event(server: RevkvServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as sock:
        sock.sendall(b"GET /watch/quiet HTTP/1.1\r\nHost: t\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
    assert data.startswith(b"HTTP/1.1 200")
