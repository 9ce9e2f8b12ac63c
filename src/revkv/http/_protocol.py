"""uvicorn's httptools protocol with the limits it lacks, so no client can hold the server.

uvicorn bounds neither the size of a request's head nor the time a client may take to
send it: one 100 MB header stalled the server for 10.7 s and grew it by 170 MB (httptools
joins a header's pieces as they come), and idle, slowloris and slow-body connections were
held forever, until the process ran out of file descriptors and shut everyone out. Here:

- a request's head (request line and headers) over ``max_header_bytes``, or with more
  than ``max_headers`` headers, is answered 431 and the connection closed, as soon as
  the excess arrives, not when the head is complete;
- a head not complete ``header_timeout`` seconds after its first byte is answered 408,
  and a body not complete ``body_timeout`` seconds after its head is answered 408 (or
  the connection is closed, if the answer has started); both close the connection;
- a connection that has sent nothing for ``keep_alive_timeout`` seconds is closed, a new
  one as well as one between requests (uvicorn's own timer covers the latter, except
  where the next request's head has begun: that is the header timeout's);
- beyond ``max_connections`` open connections a new one is answered 503 and closed, so
  the file descriptors of the process never run out (see ``raise_fd_limit``).

The hot path stays nearly as cheap as uvicorn's (bench/protocol.py: +0.2-0.5 us a
request, under 1% of a GET's server time): one more Python call, a few attribute stores.
Times are read from a coarse clock that one timer per server advances every ``TICK``
seconds; the same timer sweeps the connections for expired phases. A timeout therefore
fires within ``TICK`` of its setting.

Counting the head's bytes is exact where it matters: a chunk that holds the end of one
request and the start of the next is counted whole, so the early check (while the head
is still arriving) allows one chunk of slack; the check when the head is complete uses
the parsed sizes, never more than the bytes sent.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from dataclasses import dataclass
from typing import Any, ClassVar

import httptools
from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)

__all__ = ["Limits", "protocol_class", "raise_fd_limit"]

log = logging.getLogger(__name__)

TICK = 0.5
"""Seconds between sweeps (and advances of the coarse clock)."""

JOIN_LIMIT = 65_536
"""Bodies up to this size leave in one write with their head; larger ones follow it."""

RESERVED_FDS = 64
"""File descriptors kept back from ``max_connections``: journal, snapshots, watch files."""


@dataclass(frozen=True, slots=True)
class Limits:
    """What one client may take of the server (the `Settings` of the same names)."""

    max_header_bytes: int = 65_536
    max_headers: int = 100
    header_timeout: float = 10.0
    body_timeout: float = 60.0
    keep_alive_timeout: float = 5.0
    max_connections: int = 10_000


class _Rejected(Exception):
    """Raised from a parser callback to stop parsing a request already answered."""


def raise_fd_limit(max_connections: int) -> int:
    """Raise the soft limit on open files to the hard one; the connections it allows.

    A server that accepts connections until ``accept`` fails with EMFILE has nothing left
    to open its journal with; keeping ``max_connections`` below the limit avoids that.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError) as error:  # a container may forbid it
            log.warning("could not raise the open-file limit from %d to %d: %s", soft, hard, error)
    if soft == resource.RLIM_INFINITY:
        return max_connections
    allowed = max(1, soft - RESERVED_FDS)
    if allowed < max_connections:
        log.warning(
            "max_connections lowered from %d to %d: the process may open %d files",
            max_connections,
            allowed,
            soft,
        )
    return min(max_connections, allowed)


def protocol_class(limits: Limits) -> type[HttpToolsProtocol]:
    """A protocol class for one server: its limits, its clock and its sweeper."""
    return type("RevkvProtocol", (LimitedProtocol,), {"limits": limits})


class LimitedProtocol(HttpToolsProtocol):
    """`HttpToolsProtocol` with `Limits`; see the module's docstring.

    Which phase a connection is in is read off uvicorn's own state rather than tracked
    in more parser callbacks (each would cost every request a Python call): no scope
    yet is a new, idle connection; a scope without a method is a head still arriving
    (uvicorn sets the method when the head is complete); a cycle that wants more body
    is a body arriving. Anything else is the app's, or uvicorn's keep-alive timer's.
    """

    limits: ClassVar[Limits] = Limits()
    now: ClassVar[float] = 0.0  # the coarse clock, advanced by the sweeper
    _sweeper: ClassVar[asyncio.TimerHandle | None] = None

    _since = 0.0  # when the connection opened, or the current head began
    _body_since = 0.0  # when the current head was complete
    _head_scope: Any = None  # the scope whose head `_head` counts
    _head = 0  # bytes received while that head was arriving
    _slack = 0  # of which may belong to the previous request (see the module docstring)
    _chunk = 0  # the length of the chunk being parsed

    # -- connections -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        cls = type(self)
        if cls._sweeper is None:
            cls._start_sweeping(self.loop, self.connections)
        if len(self.connections) >= self.limits.max_connections:
            self.transport = transport
            _answer(transport, 503, "too many connections; try again later")
            return
        self._since = cls.now
        super().connection_made(transport)

    @classmethod
    def _start_sweeping(cls, loop: asyncio.AbstractEventLoop, connections: set[Any]) -> None:
        cls.now = loop.time()
        cls._sweeper = loop.call_later(TICK, cls._sweep, loop, connections)

    @classmethod
    def _sweep(cls, loop: asyncio.AbstractEventLoop, connections: set[Any]) -> None:
        """Advance the clock; end what has overstayed its phase. Keeps itself scheduled."""
        cls.now = now = loop.time()
        expired = [c for c in connections if isinstance(c, LimitedProtocol) and c._overdue(now)]
        for connection in expired:
            connection._expire()
        cls._sweeper = loop.call_later(TICK, cls._sweep, loop, connections)

    def _overdue(self, now: float) -> bool:
        limits = self.limits
        scope: Any = self.scope  # None until a first request begins (uvicorn types it not)
        if scope is None:
            return now - self._since > limits.keep_alive_timeout
        if "method" not in scope:
            return now - self._since > limits.header_timeout
        cycle = self.cycle
        return bool(cycle is not None and cycle.more_body) and (
            now - self._body_since > limits.body_timeout
        )

    def _expire(self) -> None:
        transport = self.transport
        scope: Any = self.scope
        if transport.is_closing():
            return
        if scope is None:  # idle: nothing to answer
            transport.close()
            return
        if "method" not in scope:
            what, seconds = "head", self.limits.header_timeout
        else:
            what, seconds = "body", self.limits.body_timeout
            cycle = self.cycle
            started = cycle.response_started
            cycle.disconnected = True  # the app's receive() says so; its answer is dropped
            cycle.message_event.set()
            if started:
                transport.close()
                return
        _answer(transport, 408, f"the request {what} was not received within {seconds:g} s")

    def timeout_keep_alive_handler(self) -> None:
        """uvicorn's, except for a connection whose next head has begun to arrive.

        uvicorn arms this timer when an answer is complete, even if the next request's
        head began before it left (pipelined, or sent in pieces): closing then would cut
        a client off mid-request, without a word. That head is the header timeout's.
        """
        scope: Any = self.scope
        if scope is not None and "method" not in scope:
            return
        HttpToolsProtocol.timeout_keep_alive_handler(self)

    # -- parsing -----------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        """uvicorn's, with the bytes of a head counted while it arrives."""
        self._unset_keepalive_if_required()
        self._chunk = size = len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as error:
            if not isinstance(error.__context__, _Rejected):  # else answered already
                self._bad_request()
            return
        except httptools.HttpParserError:
            self._bad_request()
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        scope: Any = self.scope
        if scope is None or "method" in scope:
            return  # no head arriving: the common case ends here
        if scope is not self._head_scope:  # a head began in this chunk
            self._head_scope = scope
            self._since = self.now
            self._head = self._slack = size
            return
        self._head += size
        if self._head - self._slack > self.limits.max_header_bytes:
            self._too_large(f"over {self.limits.max_header_bytes:,} bytes")

    def _bad_request(self) -> None:
        msg = "Invalid HTTP request received."
        self.logger.warning(msg)
        self.send_400_response(msg)

    def on_headers_complete(self) -> None:
        limits = self.limits
        if len(self.headers) > limits.max_headers:
            self._too_large(f"more than {limits.max_headers} headers")
            raise _Rejected
        counted = self._head if self.scope is self._head_scope else 0
        if counted + self._chunk > limits.max_header_bytes:  # it may be over: count exactly
            size = len(self.url) + sum(len(n) + len(v) + 4 for n, v in self.headers)
            if size > limits.max_header_bytes:
                self._too_large(f"over {limits.max_header_bytes:,} bytes")
                raise _Rejected
        self._body_since = self.now
        HttpToolsProtocol.on_headers_complete(self)  # super() costs a lookup per request
        cycle = self.cycle  # the new request's, its task created but not yet run
        if type(cycle) is RequestResponseCycle:
            cycle.__class__ = OneWriteCycle

    def _too_large(self, why: str) -> None:
        _answer(self.transport, 431, f"request head {why}; send less in headers and URL")


class OneWriteCycle(RequestResponseCycle):
    """uvicorn's cycle, with a response's head held back until its body, to leave together.

    uvicorn writes the head (status line and headers) when the app starts its answer and
    the body when it sends it: two `write` calls, two system calls and two TCP segments for
    every answer, which cost a GET about a tenth of its server time. A head that announces
    its length (every `Response` that is not a stream) is held and written with the first
    piece of body, or alone when the answer ends without one (HEAD, 204, 304). A streamed
    answer (chunked: watches, exports) has its head written at once, so that its client
    learns the status before the first event, which may be long in coming.
    """

    _held: bytes | None = None

    async def send(self, message: Any) -> None:
        if message["type"] == "http.response.start" and not self.response_started:
            transport = self.transport
            self.transport = holder = _Hold()  # type: ignore[assignment]
            try:
                await RequestResponseCycle.send(self, message)
            finally:
                self.transport = transport
            if holder.data is None:
                return
            if self.chunked_encoding:
                transport.write(holder.data)
            else:
                self._held = holder.data
            return
        held = self._held
        if held is None:
            await RequestResponseCycle.send(self, message)
            return
        self._held = None
        transport = self.transport
        self.transport = joined = _Prefixed(transport, held)  # type: ignore[assignment]
        try:
            await RequestResponseCycle.send(self, message)
        finally:
            self.transport = transport
            joined.flush()


class _Hold:
    """Stands in for the transport while uvicorn writes a head: keeps it instead."""

    __slots__ = ("data",)

    def __init__(self) -> None:
        self.data: bytes | None = None

    def write(self, data: bytes) -> None:
        self.data = data


class _Prefixed:
    """Stands in for the transport while uvicorn writes a body: puts the held head first."""

    __slots__ = ("_head", "_transport")

    def __init__(self, transport: asyncio.Transport, head: bytes) -> None:
        self._transport = transport
        self._head: bytes | None = head

    def write(self, data: bytes) -> None:
        head = self._head
        if head is not None:
            self._head = None
            if len(data) > JOIN_LIMIT:  # copying a large body costs more than a write
                self._transport.write(head)
            else:
                data = head + data
        self._transport.write(data)

    def flush(self) -> None:
        """Write the head if no body did (HEAD, an empty body, a cycle cut short)."""
        head = self._head
        if head is not None:
            self._head = None
            if not self._transport.is_closing():
                self._transport.write(head)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()


def _answer(transport: asyncio.Transport, status: int, message: str) -> None:
    """A plain-text answer that closes the connection, written past the app."""
    body = message.encode()
    transport.write(
        b"".join(
            (
                STATUS_LINE[status],
                b"content-type: text/plain; charset=utf-8\r\n",
                b"content-length: %d\r\n" % len(body),
                b"connection: close\r\n\r\n",
                body,
            )
        )
    )
    transport.close()
