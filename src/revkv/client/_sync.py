"""`Client`: the Store interface of the embedded store, over HTTP, on `httpx.Client`.

Each method drives one flow of `revkv.client._base` (one line deep); `aio.py` is its
twin on `httpx.AsyncClient`. `watch()` follows changes over Server-Sent Events on a
reader thread that reconnects after a dropped connection and resumes exactly.
"""

from __future__ import annotations

import builtins
import logging
import queue
import socket
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import suppress
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from revkv._model import (
    DEFAULT,
    Check,
    Commit,
    Delete,
    Event,
    Expect,
    Meta,
    Namespace,
    Page,
    Put,
    TxnResult,
    check_namespace_name,
)
from revkv._view import NamespaceView
from revkv.client import _base
from revkv.client._watch import STREAM_TIMEOUT, WatchSession, is_stream
from revkv.client._wire import check_base_url, unreachable
from revkv.errors import StorageError, Unavailable
from revkv.store.base import TTL, CompactionReport, Expires

if TYPE_CHECKING:
    from revkv._api import StoreAPI

log = logging.getLogger(__name__)
T = TypeVar("T")


class Client(_base.FloorHolder):
    """A revkv server as a Store: `Client("http://127.0.0.1:8080", token=None)`.

    Thread-safe. Network failures raise `Unreachable`; answers raise revkv's errors.
    `transport=` takes any `httpx.BaseTransport` (e.g. `httpx.MockTransport`). For an
    https:// server whose certificate a private CA signed, `verify="ca.pem"` (or an
    `ssl.SSLContext`, which may also carry a client certificate).

    Read-your-writes, behind a load balancer too: each write raises `min_rev` to the
    rev it got, and every read asks the server to have reached it (`X-Revkv-Min-Rev`),
    so a server a few milliseconds behind the one that took the write catches up or
    answers `RevNotReached`. `min_rev=` starts from a rev seen elsewhere;
    `read_your_writes=False` leaves the floor where it is set.
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        verify: _base.Verify = True,
        min_rev: int = 0,
        read_your_writes: bool = True,
    ) -> None:
        check_base_url(url)
        self.url = url
        self._floor = _base.RevFloor(min_rev, read_your_writes)
        self._http = httpx.Client(
            base_url=url,
            headers=_base.default_headers(token),
            timeout=timeout,
            transport=transport,
            verify=_base.tls_verify(verify),
        )
        self._watches: weakref.WeakSet[Watch] = weakref.WeakSet()

    def _drive(self, flow: _base.Flow[T]) -> T:
        """Run a flow of `_base`: send each call it yields, give it each response."""
        floor = self._floor
        call = next(flow)
        while True:
            sent = floor.on(call)
            try:
                response = self._http.request(
                    sent.method, sent.path, params=sent.params, headers=sent.headers,
                    content=sent.content,
                )  # fmt: skip
            except httpx.TransportError as error:
                raise unreachable(self.url, error) from error
            if floor.refused(sent, response):
                continue  # the same call again, under the floor the server can reach
            try:
                call = _base.advance(flow, response, self.url)
            except StopIteration as done:
                result: T = done.value
                floor.wrote(call, result)
                return result

    # -- namespaces --------------------------------------------------------------------

    def create_namespace(self, name: str, *, exist_ok: bool = False, **settings: Any) -> Namespace:
        return self._drive(_base.create_namespace(name, exist_ok, settings))

    def update_namespace(self, name: str, **settings: Any) -> Namespace:
        return self._drive(_base.update_namespace(name, settings))

    def get_namespace(self, name: str) -> Namespace:
        return self._drive(_base.get_namespace(name))

    def namespaces(self) -> builtins.list[Namespace]:
        return self._drive(_base.namespaces())

    def namespace(self, name: str) -> NamespaceView:
        """A handle for code that works in one namespace (`cfg["k"]`, `cfg.put(...)`)."""
        return NamespaceView(self, check_namespace_name(name))

    # -- reads ---------------------------------------------------------------------------

    def get(
        self, namespace: str, key: str, version: int | None = None, *, default: Any = _base.MISSING
    ) -> Commit:
        return self._drive(_base.get(namespace, key, version, default))

    def meta(
        self,
        namespace: str,
        key: str,
        version: int | None = None,
        *,
        include_deleted: bool = False,
    ) -> Meta:
        return self._drive(_base.meta(namespace, key, version, include_deleted))

    def history(
        self, namespace: str, key: str, *, limit: int = 100, before: int | None = None
    ) -> Page:
        return self._drive(_base.history(namespace, key, limit, before))

    def list(
        self,
        namespace: str,
        *,
        prefix: str | None = None,
        start_after: str | None = None,
        limit: int = 1000,
        include_deleted: bool = False,
    ) -> Page:
        return self._drive(_base.list_(namespace, prefix, start_after, limit, include_deleted))

    def iter_history(self, namespace: str, key: str, *, page_size: int = 100) -> Iterator[Meta]:
        return _base.paged(lambda at: self.history(namespace, key, limit=page_size, before=at))

    def iter_list(
        self,
        namespace: str,
        *,
        prefix: str | None = None,
        include_deleted: bool = False,
        page_size: int = 1000,
    ) -> Iterator[Commit]:
        return _base.paged(
            lambda after: self.list(
                namespace,
                prefix=prefix,
                start_after=after,
                limit=page_size,
                include_deleted=include_deleted,
            )
        )

    def keys(self, namespace: str, *, prefix: str | None = None) -> builtins.list[str]:
        return self._drive(_base.keys(namespace, prefix))

    def count(
        self, namespace: str, *, prefix: str | None = None, include_deleted: bool = False
    ) -> int:
        return self._drive(_base.count(namespace, prefix, include_deleted))

    @property
    def rev(self) -> int:
        """The server's newest durable rev (one request)."""
        return self._drive(_base.rev())

    def changes(
        self,
        since_rev: int,
        *,
        namespace: str | None = None,
        prefix: str | None = None,
        limit: int = 1000,
    ) -> builtins.list[Event]:
        return self._drive(_base.changes(since_rev, namespace, prefix, limit))

    def iter_changes(
        self, since_rev: int, *, namespace: str | None = None, prefix: str | None = None
    ) -> Iterator[Event]:
        return _base.paged(
            lambda rev: _base.as_page(
                self.changes(since_rev if rev is None else rev, namespace=namespace, prefix=prefix)
            )
        )

    # -- writes --------------------------------------------------------------------------

    def put(
        self,
        namespace: str,
        key: str,
        payload: bytes | str,
        *,
        expect: Expect | None = None,
        author: str | None = None,
        comment: str | None = None,
        ttl: TTL = DEFAULT,
        expires: Expires = DEFAULT,
    ) -> Meta:
        return self._drive(
            _base.put(namespace, key, payload, expect, author, comment, ttl, expires)
        )

    def delete(
        self,
        namespace: str,
        key: str,
        *,
        expect: Expect | None = None,
        author: str | None = None,
        comment: str | None = None,
    ) -> Meta:
        return self._drive(_base.delete(namespace, key, expect, author, comment))

    def revert(
        self,
        namespace: str,
        key: str,
        to_version: int,
        *,
        expect: Expect | None = None,
        author: str | None = None,
        comment: str | None = None,
    ) -> Meta:
        return self._drive(_base.revert(namespace, key, to_version, expect, author, comment))

    def purge(
        self,
        namespace: str,
        key: str,
        *,
        before_version: int | None = None,
        all_versions: bool = False,
    ) -> int:
        """Remove old versions' payloads for good (an admin token); see `Service.purge`."""
        return self._drive(_base.purge(namespace, key, before_version, all_versions))

    def compact(self) -> CompactionReport:
        """Have the server compact its store now (an admin token); see `Service.compact`."""
        return self._drive(_base.compact())

    def txn(self, checks: Sequence[Check], writes: Sequence[Put | Delete]) -> TxnResult:
        return self._drive(_base.txn(checks, writes))

    # -- watches and lifetime -----------------------------------------------------------

    def watch(
        self,
        since_rev: int | None = None,
        *,
        namespace: str | None = None,
        prefix: str | None = None,
        resync: bool = False,
    ) -> Watch:
        """Follow changes live (iterate, or `next(timeout)`); from now when `since_rev` is None."""
        start = self.rev if since_rev is None else since_rev
        watch = Watch(self._http, WatchSession(start, namespace, prefix, resync, self._floor))
        self._watches.add(watch)
        return watch

    @property
    def closed(self) -> bool:
        return self._http.is_closed

    def close(self) -> None:
        """End every watch of this client, then close its connections."""
        for watch in builtins.list(self._watches):
            watch.close()
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Watch:
    """Events over HTTP, like the embedded store's `Watch`: iterate, `next(timeout)`, `close()`.

    The stream opens before `watch()` returns (so a refused watch, e.g. `Compacted`,
    raises there). A reader thread then moves events into a queue and, after a dropped
    connection, reconnects until it succeeds or the watch is closed. Iteration ends on
    `close()` or when the server shuts down.
    """

    def __init__(self, http: httpx.Client, session: WatchSession) -> None:
        self._http = http
        self._url = str(http.base_url)
        self._session = session
        self._queue: queue.SimpleQueue[Event | BaseException | None] = queue.SimpleQueue()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._done = False
        self._response: httpx.Response | None = self._connect()  # the one being read
        self._thread = threading.Thread(target=self._pump, name="revkv-watch", daemon=True)
        self._thread.start()

    def _connect(self) -> httpx.Response:
        call = self._session.call()
        request = self._http.build_request(
            call.method, call.path, params=call.params, headers=call.headers,
            timeout=STREAM_TIMEOUT,
        )  # fmt: skip
        try:
            response = self._http.send(request, stream=True)
        except httpx.TransportError as error:
            raise unreachable(self._url, error) from error
        if not is_stream(response):
            response.read()
            response.close()
        self._session.opened(response, self._url)
        return response

    def _pump(self) -> None:
        response: httpx.Response | None = self._response
        try:
            while response is not None:
                self._read(response)
                if self._closed.is_set() or self._session.ended:
                    return
                log.info("watch stream lost; resuming after rev %s", self._session.rev)
                response = self._reconnect()
        except Exception as exc:  # handed to the consumer, raised by next()
            self._queue.put(exc)
        finally:
            self._queue.put(None)

    def _read(self, response: httpx.Response) -> None:
        try:
            for line in response.iter_lines():
                event = self._session.feed(line)
                if event is not None:
                    self._queue.put(event)
                if self._session.ended or self._closed.is_set():
                    return
        except (httpx.HTTPError, httpx.StreamError):
            pass  # dropped: the caller resumes
        finally:
            with self._lock:  # close() must not cut a connection that went back to the pool
                self._response = None
            response.close()

    def _reconnect(self) -> httpx.Response | None:
        while not self._closed.wait(self._session.delay()):
            try:
                response = self._connect()
            except (Unavailable, StorageError) as exc:  # down, or 503: not yet
                log.debug("watch: cannot reconnect yet: %s", exc)
                continue
            with self._lock:
                if self._closed.is_set():
                    response.close()
                    return None
                self._response = response
            return response
        return None

    def next(self, timeout: float | None = None) -> Event | None:
        """The next event, or None once `timeout` seconds pass (or the watch ends)."""
        if self._done:
            return None
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if item is None or isinstance(item, BaseException):
            self._done = True
            if item is not None:
                raise item
        return item

    def __iter__(self) -> Iterator[Event]:
        return self

    def __next__(self) -> Event:
        event = self.next()
        if event is None:
            raise StopIteration
        return event

    def close(self) -> None:
        """End the watch; the reader's blocking read is cut by shutting its socket down."""
        self._closed.set()
        with self._lock:
            if self._response is not None:
                _interrupt(self._response)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _interrupt(response: httpx.Response) -> None:
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if isinstance(sock, socket.socket):
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


if TYPE_CHECKING:

    def _is_a_store(client: Client) -> StoreAPI:
        return client  # mypy checks that Client has the interface of revkv.open()
