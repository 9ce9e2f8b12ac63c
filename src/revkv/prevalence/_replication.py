"""Primary/replica replication (coopy's master/slave): replicas follow the journal live.

A replica connects over TCP and proves it knows the password by answering a random
challenge with an HMAC (the password itself never crosses the wire, unlike coopy's).
The primary then sends the whole state, serialised under its lock at seq S, and after it
every durable record after S, in order. The replica applies them to its in-memory copy
and serves read-only calls; writes raise ReadOnlySystem. A replica that falls too far
behind is dropped and, on reconnecting, starts again from a fresh state.

Only the msgpack codec replicates: revkv never unpickles what came from the network.

Wire: every message is `length u32 | type u8 | payload`; types below.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import os
import socket
import socketserver
import struct
import threading
from collections import deque
from pathlib import Path
from typing import Any

from revkv.errors import PrevalenceError
from revkv.prevalence._proxy import Proxy
from revkv.prevalence._system import Settings, System

log = logging.getLogger(__name__)

CHALLENGE, ANSWER, REFUSED, STATE, RECORD = b"c", b"a", b"n", b"s", b"r"
_HEAD = struct.Struct("!IB")
_SEQ = struct.Struct("!Q")
MAX_MESSAGE = 1 << 30
FEED_SIZE = 100_000  # records kept for replicas; one further behind is dropped


def _send(sock: socket.socket, kind: bytes, payload: bytes) -> None:
    sock.sendall(_HEAD.pack(len(payload), kind[0]) + payload)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = []
    while n:
        chunk = sock.recv(min(n, 1 << 20))
        if not chunk:
            raise ConnectionError("the other side closed the connection")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _recv(sock: socket.socket) -> tuple[bytes, bytes]:
    length, kind = _HEAD.unpack(_recv_exact(sock, _HEAD.size))
    if length > MAX_MESSAGE:
        raise ConnectionError(f"message of {length} bytes refused")
    return bytes([kind]), _recv_exact(sock, length)


def _proof(password: str, nonce: bytes) -> bytes:
    return hmac.new(password.encode(), nonce, hashlib.sha256).digest()


class Feed:
    """The recent records, for replicas to stream; filled by the primary's commands."""

    def __init__(self, size: int = FEED_SIZE) -> None:
        self.records: deque[tuple[int, bytes]] = deque(maxlen=size)
        self.cond = threading.Condition()
        self.durable = 0

    def add(self, seq: int, body: bytes) -> None:
        with self.cond:
            self.records.append((seq, body))

    def forget_through(self, seq: int) -> None:
        """Drop the records up to `seq` (compaction: what they held may have been
        purged); a replica behind them starts again from a snapshot."""
        with self.cond:
            while self.records and self.records[0][0] <= seq:
                self.records.popleft()

    def durable_up_to(self, seq: int) -> None:
        with self.cond:
            self.durable = seq
            self.cond.notify_all()

    def after(self, seq: int) -> list[tuple[int, bytes]] | None:
        """Durable records after `seq`, or None when they are no longer kept."""
        with self.cond:
            if self.records and self.records[0][0] > seq + 1:
                return None
            newer = []
            for record in reversed(self.records):  # the caught-up case touches only new ones
                if record[0] <= seq:
                    break
                if record[0] <= self.durable:
                    newer.append(record)
            newer.reverse()
            return newer


class _Primary(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, system: System, address: tuple[str, int], password: str) -> None:
        self.system = system
        self.password = password
        super().__init__(address, _ReplicaHandler)


class _ReplicaHandler(socketserver.BaseRequestHandler):
    server: _Primary

    def handle(self) -> None:
        sock: socket.socket = self.request
        if not self._authenticate(sock):
            return
        system = self.server.system
        feed = system.feed
        assert feed is not None
        with system.lock:
            seq = system.journal.last_seq
            state = system.codec.encode_state(system.obj)
        system.journal.sync(seq)
        try:
            _send(sock, STATE, _SEQ.pack(seq) + system.codec.name.encode() + b"\0" + state)
            self._stream(sock, feed, seq)
        except OSError as exc:
            log.info("replica %s gone: %s", self.client_address, exc)

    def _authenticate(self, sock: socket.socket) -> bool:
        nonce = os.urandom(32)
        _send(sock, CHALLENGE, nonce)
        kind, answer = _recv(sock)
        if kind != ANSWER or not hmac.compare_digest(answer, _proof(self.server.password, nonce)):
            _send(sock, REFUSED, b"wrong password")
            log.warning("replica %s refused: wrong password", self.client_address)
            return False
        return True

    def _stream(self, sock: socket.socket, feed: Feed, seq: int) -> None:
        while not self.server.system.closed:
            with feed.cond:
                if feed.durable <= seq:
                    feed.cond.wait(timeout=1.0)
            records = feed.after(seq)
            if records is None:
                log.warning("replica %s fell behind; dropping it", self.client_address)
                return
            for record_seq, body in records:
                _send(sock, RECORD, _SEQ.pack(record_seq) + body)
                seq = record_seq


def serve_replicas(
    system: System, host: str = "127.0.0.1", port: int = 5466, password: str = "copynet"
) -> tuple[str, int]:
    """Start serving replicas in the background; returns the address bound."""
    if system.codec.name != "msgpack":
        raise PrevalenceError(
            "replication sends commands over the network, and revkv never unpickles network "
            "data: open the primary with codec='msgpack' to replicate it"
        )
    system.attach_feed(Feed())
    server = _Primary(system, (host, port), password)
    threading.Thread(target=server.serve_forever, name="revkv-primary", daemon=True).start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    system.on_close(stop)
    bound = server.server_address
    system.stats["replication_address"] = (str(bound[0]), int(bound[1]))
    log.info("serving replicas on %s:%d", bound[0], bound[1])
    return str(bound[0]), int(bound[1])


class _Replica:
    """Connects, loads the primary's state into a read-only system, then applies records."""

    def __init__(self, obj: Any, host: str, port: int, password: str, settings: Settings) -> None:
        self.sock = socket.create_connection((host, port), timeout=10)
        try:
            self._start(obj, host, port, password, settings)
        except BaseException:
            self.sock.close()
            raise

    def _start(self, obj: Any, host: str, port: int, password: str, settings: Settings) -> None:
        kind, nonce = _recv(self.sock)
        _send(self.sock, ANSWER, _proof(password, nonce))
        kind, payload = _recv(self.sock)
        if kind == REFUSED:
            raise PrevalenceError(f"the primary at {host}:{port} refused: {payload.decode()}")
        (seq,) = _SEQ.unpack_from(payload)
        codec_name, _, state = payload[_SEQ.size :].partition(b"\0")
        if codec_name != b"msgpack":
            raise PrevalenceError(f"the primary uses codec {codec_name.decode()!r}; refusing")
        self.system = System(obj, None, dataclasses.replace(settings, codec="msgpack"))
        self.system.obj = self.system.codec.decode_state(state, self.system.cls)
        self.system.adopt(seq)
        self.system.read_only = True
        self.system.primary = f"{host}:{port}"
        self.sock.settimeout(None)
        threading.Thread(target=self._follow, name="revkv-replica", daemon=True).start()

    def _follow(self) -> None:
        try:
            while not self.system.closed:
                kind, payload = _recv(self.sock)
                if kind == RECORD:
                    (seq,) = _SEQ.unpack_from(payload)
                    self.system.apply_replicated(seq, payload[_SEQ.size :])
        except (OSError, ConnectionError) as exc:
            if not self.system.closed:
                log.warning("lost the primary: %s; this replica no longer follows it", exc)


def open_replica(
    obj: Any,
    basedir: str | Path | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 5466,
    password: str = "copynet",
    **settings: Any,
) -> Any:
    """A read-only replica of the primary at host:port (coopy's `replication=True`)."""
    replica = _Replica(obj, host, port, password, Settings(**settings))
    replica.system.on_close(replica.sock.close)
    return Proxy(replica.system)
