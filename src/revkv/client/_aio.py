"""`AsyncClient`: `Client`'s twin on `httpx.AsyncClient`, every call awaited.

The rule: what reads `x = client.f(...)` on `Client` reads `x = await client.f(...)`
here, `client.rev` included (`await client.rev`), and `watch()` too:
`async with await client.watch(namespace="ns") as events: async for e in events: ...`.
Each method drives one flow of `revkv.client._base`; no logic lives here.

`transport=httpx.ASGITransport(app)` runs it against an app in-process, except
`watch()` (refused with `InvalidRequest`): that transport hands over a response only
once it is complete, which a live stream never is.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import weakref
from collections.abc import AsyncIterator, Coroutine, Sequence
from typing import Any, TypeVar

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
)
from revkv.client import _base
from revkv.client._watch import STREAM_TIMEOUT, WatchSession, is_stream
from revkv.client._wire import check_base_url, unreachable
from revkv.errors import InvalidRequest, StorageError, Unavailable
from revkv.store.base import TTL, CompactionReport, Expires

log = logging.getLogger(__name__)
T = TypeVar("T")
STREAMLESS = (
    "watch() needs a transport that streams: httpx.ASGITransport hands over a response "
    "only once it is complete, which a watch never is; watch a real server instead"
)


class AsyncClient(_base.FloorHolder):
    """A revkv server as an awaitable Store: `AsyncClient("http://127.0.0.1:8080")`.

    Read-your-writes as `Client`'s: `min_rev`, raised by each write, sent with every read.
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: _base.Verify = True,
        min_rev: int = 0,
        read_your_writes: bool = True,
    ) -> None:
        check_base_url(url)
        self.url = url
        self._floor = _base.RevFloor(min_rev, read_your_writes)
        self._streams = not isinstance(transport, httpx.ASGITransport)
        self._http = httpx.AsyncClient(
            base_url=url,
            headers=_base.default_headers(token),
            timeout=timeout,
            transport=transport,
            verify=_base.tls_verify(verify),
        )
        self._watches: weakref.WeakSet[AsyncWatch] = weakref.WeakSet()

    async def _drive(self, flow: _base.Flow[T]) -> T:
        """Run a flow of `_base`: send each call it yields, give it each response."""
        floor = self._floor
        call = next(flow)
        while True:
            sent = floor.on(call)
            try:
                response = await self._http.request(
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

    async def create_namespace(
        self, name: str, *, exist_ok: bool = False, **settings: Any
    ) -> Namespace:
        return await self._drive(_base.create_namespace(name, exist_ok, settings))

    async def update_namespace(self, name: str, **settings: Any) -> Namespace:
        return await self._drive(_base.update_namespace(name, settings))

    async def get_namespace(self, name: str) -> Namespace:
        return await self._drive(_base.get_namespace(name))

    async def namespaces(self) -> builtins.list[Namespace]:
        return await self._drive(_base.namespaces())

    # -- reads ---------------------------------------------------------------------------

    async def get(
        self, namespace: str, key: str, version: int | None = None, *, default: Any = _base.MISSING
    ) -> Commit:
        return await self._drive(_base.get(namespace, key, version, default))

    async def meta(
        self,
        namespace: str,
        key: str,
        version: int | None = None,
        *,
        include_deleted: bool = False,
    ) -> Meta:
        return await self._drive(_base.meta(namespace, key, version, include_deleted))

    async def history(
        self, namespace: str, key: str, *, limit: int = 100, before: int | None = None
    ) -> Page:
        return await self._drive(_base.history(namespace, key, limit, before))

    async def list(
        self,
        namespace: str,
        *,
        prefix: str | None = None,
        start_after: str | None = None,
        limit: int = 1000,
        include_deleted: bool = False,
    ) -> Page:
        return await self._drive(
            _base.list_(namespace, prefix, start_after, limit, include_deleted)
        )

    async def iter_history(
        self, namespace: str, key: str, *, page_size: int = 100
    ) -> AsyncIterator[Meta]:
        before = None
        while True:
            page = await self.history(namespace, key, limit=page_size, before=before)
            for meta in page.items:
                yield meta
            if page.next is None:
                return
            before = page.next

    async def iter_list(
        self,
        namespace: str,
        *,
        prefix: str | None = None,
        include_deleted: bool = False,
        page_size: int = 1000,
    ) -> AsyncIterator[Commit]:
        after = None
        while True:
            page = await self.list(
                namespace, prefix=prefix, start_after=after, limit=page_size,
                include_deleted=include_deleted,
            )  # fmt: skip
            for commit in page.items:
                yield commit
            if page.next is None:
                return
            after = page.next

    async def keys(self, namespace: str, *, prefix: str | None = None) -> builtins.list[str]:
        return await self._drive(_base.keys(namespace, prefix))

    async def count(
        self, namespace: str, *, prefix: str | None = None, include_deleted: bool = False
    ) -> int:
        return await self._drive(_base.count(namespace, prefix, include_deleted))

    @property
    def rev(self) -> Coroutine[Any, Any, int]:
        """`await client.rev`: the server's newest durable rev (one request)."""
        return self._drive(_base.rev())

    async def changes(
        self,
        since_rev: int,
        *,
        namespace: str | None = None,
        prefix: str | None = None,
        limit: int = 1000,
    ) -> builtins.list[Event]:
        return await self._drive(_base.changes(since_rev, namespace, prefix, limit))

    async def iter_changes(
        self, since_rev: int, *, namespace: str | None = None, prefix: str | None = None
    ) -> AsyncIterator[Event]:
        rev = since_rev
        while True:
            page = _base.as_page(await self.changes(rev, namespace=namespace, prefix=prefix))
            for event in page.items:
                yield event
            if page.next is None:
                return
            rev = page.next

    # -- writes --------------------------------------------------------------------------

    async def put(
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
        return await self._drive(
            _base.put(namespace, key, payload, expect, author, comment, ttl, expires)
        )

    async def delete(
        self,
        namespace: str,
        key: str,
        *,
        expect: Expect | None = None,
        author: str | None = None,
        comment: str | None = None,
    ) -> Meta:
        return await self._drive(_base.delete(namespace, key, expect, author, comment))

    async def revert(
        self,
        namespace: str,
        key: str,
        to_version: int,
        *,
        expect: Expect | None = None,
        author: str | None = None,
        comment: str | None = None,
    ) -> Meta:
        return await self._drive(_base.revert(namespace, key, to_version, expect, author, comment))

    async def purge(
        self,
        namespace: str,
        key: str,
        *,
        before_version: int | None = None,
        all_versions: bool = False,
    ) -> int:
        """Remove old versions' payloads for good (an admin token); see `Service.purge`."""
        return await self._drive(_base.purge(namespace, key, before_version, all_versions))

    async def compact(self) -> CompactionReport:
        """Have the server compact its store now (an admin token); see `Service.compact`."""
        return await self._drive(_base.compact())

    async def txn(self, checks: Sequence[Check], writes: Sequence[Put | Delete]) -> TxnResult:
        return await self._drive(_base.txn(checks, writes))

    # -- watches and lifetime -----------------------------------------------------------

    async def watch(
        self,
        since_rev: int | None = None,
        *,
        namespace: str | None = None,
        prefix: str | None = None,
        resync: bool = False,
    ) -> AsyncWatch:
        """Follow changes live (`async for`, or `anext(timeout)`); from now by default."""
        if not self._streams:
            raise InvalidRequest(STREAMLESS)
        start = await self.rev if since_rev is None else since_rev
        session = WatchSession(start, namespace, prefix, resync, self._floor)
        watch = AsyncWatch(self._http, session, await _connect(self._http, session))
        self._watches.add(watch)
        return watch

    @property
    def closed(self) -> bool:
        return self._http.is_closed

    async def close(self) -> None:
        """End every watch of this client, then close its connections."""
        for watch in builtins.list(self._watches):
            await watch.close()
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def _connect(http: httpx.AsyncClient, session: WatchSession) -> httpx.Response:
    call = session.call()
    request = http.build_request(
        call.method, call.path, params=call.params, headers=call.headers, timeout=STREAM_TIMEOUT
    )
    try:
        response = await http.send(request, stream=True)
    except httpx.TransportError as error:
        raise unreachable(str(http.base_url), error) from error
    if not is_stream(response):
        await response.aread()
        await response.aclose()
    session.opened(response, str(http.base_url).rstrip("/"))
    return response


class AsyncWatch:
    """Events over HTTP on an event loop: `async for`, `await anext(timeout)`, `await close()`.

    A task moves events into a queue and, after a dropped connection, reconnects until
    it succeeds or the watch is closed. Iteration ends on `close()` or server shutdown.
    """

    def __init__(
        self, http: httpx.AsyncClient, session: WatchSession, response: httpx.Response
    ) -> None:
        self._http = http
        self._session = session
        self._queue: asyncio.Queue[Event | BaseException | None] = asyncio.Queue()
        self._done = False
        self._task = asyncio.get_running_loop().create_task(self._pump(response))

    async def _pump(self, response: httpx.Response) -> None:
        try:
            while True:
                await self._read(response)
                if self._session.ended:
                    return
                log.info("watch stream lost; resuming after rev %s", self._session.rev)
                response = await self._reconnect()
        except Exception as exc:  # handed to the consumer, raised by anext()
            self._queue.put_nowait(exc)
        finally:
            self._queue.put_nowait(None)

    async def _read(self, response: httpx.Response) -> None:
        try:
            async for line in response.aiter_lines():
                event = self._session.feed(line)
                if event is not None:
                    self._queue.put_nowait(event)
                if self._session.ended:
                    return
        except (httpx.HTTPError, httpx.StreamError):
            pass  # dropped: the caller resumes
        finally:
            await response.aclose()

    async def _reconnect(self) -> httpx.Response:
        while True:
            await asyncio.sleep(self._session.delay())
            try:
                return await _connect(self._http, self._session)
            except (Unavailable, StorageError) as exc:  # down, or 503: not yet
                log.debug("watch: cannot reconnect yet: %s", exc)

    async def anext(self, timeout: float | None = None) -> Event | None:
        """The next event, or None after `timeout` seconds (or when the watch ends)."""
        if self._done:
            return None
        try:
            item = self._queue.get_nowait()
        except asyncio.QueueEmpty:
            if timeout is not None and timeout <= 0:
                return None
            try:
                item = await asyncio.wait_for(self._queue.get(), timeout)
            except TimeoutError:
                return None
        if item is None or isinstance(item, BaseException):
            self._done = True
            if item is not None:
                raise item
        return item

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        event = await self.anext()
        if event is None:
            raise StopAsyncIteration
        return event

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.wait([self._task])

    async def __aenter__(self) -> AsyncWatch:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
