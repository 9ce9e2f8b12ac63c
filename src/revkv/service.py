"""The Service every door calls: the store, its watch hub, and who may do what.

Doors (HTTP, AMQP, the broker) never touch a backend. Reads are synchronous (memory,
microseconds). Writes come in an async form for event loops: the command runs in
memory under the store's lock and the coroutine then awaits only the journal's fsync,
shared with every other writer (group commit). Rarer operations (namespaces,
transactions, reverts) run in a worker thread.
"""

from __future__ import annotations

import asyncio
import builtins
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from revkv.auth import Auth, Principal
from revkv.errors import InvalidRequest
from revkv.hub import Watch
from revkv.model import DEFAULT, Check, Commit, Delete, Event, Meta, Namespace, Page, Put, TxnResult
from revkv.query import compile_filter, compile_orderby, parse_filter, parse_orderby
from revkv.store.base import TTL, Expires
from revkv.store.embedded import EmbeddedStore

PAGE = 2000  # keys per lock acquisition when scanning a namespace

#: The properties a REST `$filter`/`$orderby` sees for each key.
META_PROPERTIES = ("Key", "Version", "Rev", "Author", "Comment", "Mtime", "Expires", "Size")


def meta_record(commit: Commit) -> dict[str, Any]:
    return {
        "Key": commit.key,
        "Version": commit.version,
        "Rev": commit.rev,
        "Author": commit.author,
        "Comment": commit.comment,
        "Mtime": datetime.fromtimestamp(commit.mtime, UTC),
        "Expires": None if commit.expires is None else datetime.fromtimestamp(commit.expires, UTC),
        "Size": len(commit.payload),
    }


@dataclass(frozen=True)
class Query:
    """A compiled $filter/$orderby over some record view of each commit."""

    predicate: Callable[[Any], bool] | None
    order: Callable[[Any], Any] | None

    @staticmethod
    def compile(
        filter_text: str | None, orderby_text: str | None, properties: Sequence[str]
    ) -> Query:
        predicate = order = None
        if filter_text:
            node = parse_filter(filter_text)
            predicate = compile_filter(node, properties, source=filter_text)
        if orderby_text:
            items = parse_orderby(orderby_text)
            order = compile_orderby(items, properties, source=orderby_text)
        return Query(predicate, order)


class _Memo:
    """A record view remembered per (namespace, key) until the key's next commit."""

    __slots__ = ("_cache", "_record")

    def __init__(self, record: Callable[[Commit], Any]) -> None:
        self._record = record
        self._cache: dict[tuple[str, str], tuple[int, Any]] = {}

    def __call__(self, commit: Commit) -> Any:
        ident = (commit.namespace, commit.key)
        hit = self._cache.get(ident)
        if hit is None or hit[0] != commit.rev:
            hit = self._cache[ident] = (commit.rev, self._record(commit))
        return hit[1]


def _growing(wanted: int | None) -> Iterator[int]:
    """Chunk sizes for a scan that may stop early: a dense page reads few keys."""
    size = min(max(2 * (wanted or 0), 64), PAGE)
    while True:
        yield size
        size = min(size * 4, PAGE)


class DurableWaits:
    """Writers on one event loop, waiting for their revs to be durable.

    A flush makes many writes durable at once; this wakes the loop once per flush (one
    `call_soon_threadsafe`) and resolves every waiter it covers, where a Future per write
    would cost a lock and a wake-up each. Waiters are kept in rev order: writes are
    submitted one after another on the loop's thread.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, store: EmbeddedStore) -> None:
        self.loop = loop
        self.store = store
        self.published = store.durable_rev
        self.waiting: deque[tuple[int, asyncio.Future[None]]] = deque()
        self.scheduled = False
        self.failed: BaseException | None = None
        store.add_durable_listener(self._on_durable, self._on_failure)

    def _on_durable(self, rev: int) -> None:  # on the flushing thread
        self.published = rev
        if self.waiting and not self.scheduled and not self.loop.is_closed():
            self.scheduled = True
            self.loop.call_soon_threadsafe(self._resolve)

    def _on_failure(self, error: BaseException) -> None:  # on the flushing thread
        self.failed = error
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._fail)

    def _fail(self) -> None:
        while self.waiting:
            _rev, future = self.waiting.popleft()
            if not future.done():
                future.set_exception(self.failed or RuntimeError("journal failed"))

    def _resolve(self) -> None:
        self.scheduled = False
        upto, waiting = self.published, self.waiting
        while waiting and waiting[0][0] <= upto:
            _rev, future = waiting.popleft()
            if not future.done():
                future.set_result(None)

    async def wait(self, rev: int) -> None:
        if self.published >= rev:
            return
        if self.failed is not None:
            raise self.failed
        future = self.loop.create_future()
        self.waiting.append((rev, future))
        if self.published >= rev:  # published between the check and the append
            self._resolve()
        await future


class Service:
    def __init__(self, store: EmbeddedStore, auth: Auth | None = None) -> None:
        self.store = store
        self.auth = auth or Auth(())
        self._memos: dict[Callable[[Commit], Any], _Memo] = {}
        self._durable_waits: dict[asyncio.AbstractEventLoop, DurableWaits] = {}
        #: what doors rendered for immutable versions (headers, say); valid for this store
        self.rendered: dict[Any, Any] = {}

    # -- who -------------------------------------------------------------------------

    def principal(self, authorization: str | None) -> Principal:
        return self.auth.authenticate(authorization)

    def authorize(self, principal: Principal, namespace: str | None, write: bool) -> None:
        self.auth.authorize(principal, namespace, write)

    # -- reads -----------------------------------------------------------------------

    @property
    def rev(self) -> int:
        return self.store.rev

    def get(self, namespace: str, key: str, version: int | None = None) -> Commit:
        return self.store.get(namespace, key, version)

    def head(self, namespace: str, key: str) -> Meta:
        """The newest version's meta, a tombstone included (Rainer shows empty commits)."""
        return self.store.meta(namespace, key, include_deleted=True)

    def history(self, namespace: str, key: str, limit: int, before: int | None) -> Page:
        return self.store.history(namespace, key, limit=limit, before=before)

    def list(
        self,
        namespace: str,
        *,
        prefix: str | None = None,
        start_after: str | None = None,
        limit: int = 1000,
        include_deleted: bool = False,
    ) -> Page:
        return self.store.list(
            namespace,
            prefix=prefix,
            start_after=start_after,
            limit=limit,
            include_deleted=include_deleted,
        )

    def select(
        self,
        namespace: str,
        query: Query,
        record: Callable[[Commit], Any],
        *,
        prefix: str | None = None,
        start_after: str | None = None,
        skip: int = 0,
        top: int | None = None,
        include_deleted: bool = False,
        count: bool = True,
    ) -> tuple[builtins.list[Commit], int | None]:
        """Commits whose record view matches the query: (the page, how many matched).

        `record` turns a commit into what the query reads; doors pass a memoizing one
        (`memoized`), so a query over 100,000 keys does not rebuild 100,000 views each
        time. Without an order and without `count`, the scan stops as soon as the page
        is full, and reads the store in small chunks that grow.
        """
        predicate = query.predicate
        end = None if top is None else skip + top
        early = query.order is None and not count and end is not None
        rows: builtins.list[tuple[Commit, Any]] = []
        chunks = _growing(end) if early else None
        for commit in self.iter_commits(namespace, prefix, include_deleted, start_after, chunks):
            view = record(commit)
            if predicate is None or predicate(view):
                rows.append((commit, view))
                if early and len(rows) >= end:  # type: ignore[operator]
                    break
        if query.order is not None:
            by_record = {id(r): c for c, r in rows}
            rows = [(by_record[id(r)], r) for r in query.order([r for _, r in rows])]
        return [c for c, _ in rows[skip:end]], (len(rows) if count else None)

    def memoized(self, record: Callable[[Commit], Any]) -> Callable[[Commit], Any]:
        """`record`, remembered per key and version for as long as this store is served."""
        memo = self._memos.get(record)
        if memo is None:
            memo = self._memos[record] = _Memo(record)
        return memo

    def iter_commits(
        self,
        namespace: str,
        prefix: str | None = None,
        include_deleted: bool = False,
        start_after: str | None = None,
        chunks: Iterator[int] | None = None,
    ) -> Iterator[Commit]:
        """Every newest version in key order, a chunk at a time (the lock is never held
        long); `chunks` gives the chunk sizes (PAGE each by default)."""
        cursor = start_after
        while True:
            size = PAGE if chunks is None else next(chunks)
            page = self.store.list(
                namespace,
                prefix=prefix,
                start_after=cursor,
                limit=size,
                include_deleted=include_deleted,
            )
            yield from page.items
            if page.next is None:
                return
            cursor = page.next

    def count(self, namespace: str, prefix: str | None = None) -> int:
        return self.store.count(namespace, prefix=prefix)

    def namespace(self, name: str) -> Namespace:
        return self.store.namespace(name)

    def namespaces(self) -> builtins.list[Namespace]:
        return self.store.namespaces()

    def changes(
        self, since_rev: int, namespace: str | None, prefix: str | None, limit: int
    ) -> builtins.list[Event]:
        return self.store.changes(since_rev, namespace=namespace, prefix=prefix, limit=limit)

    def watch(
        self, since_rev: int | None, namespace: str | None, prefix: str | None, resync: bool
    ) -> Watch:
        return self.store.watch(since_rev, namespace=namespace, prefix=prefix, resync=resync)

    # -- writes (awaitable) -----------------------------------------------------------

    async def put(
        self,
        namespace: str,
        key: str,
        payload: bytes,
        *,
        version: int | None = None,
        author: str | None = None,
        comment: str | None = None,
        ttl: TTL = DEFAULT,
        expires: Expires = DEFAULT,
        mtime: float | None = None,
    ) -> Commit:
        prepared = self.store.prepare_put(
            namespace, key, payload, version, author, comment, ttl, expires, mtime
        )
        return await self._submit(prepared)

    async def delete(
        self,
        namespace: str,
        key: str,
        *,
        version: int | None = None,
        author: str | None = None,
        comment: str | None = None,
        mtime: float | None = None,
    ) -> Commit:
        prepared = self.store.prepare_delete(namespace, key, version, author, comment, mtime)
        return await self._submit(prepared)

    async def revert(
        self,
        namespace: str,
        key: str,
        to_version: int,
        *,
        version: int | None = None,
        author: str | None = None,
        comment: str | None = None,
    ) -> Commit:
        prepared = self.store.prepare_revert(namespace, key, to_version, version, author, comment)
        return await self._submit(prepared)

    async def _submit(self, prepared: tuple[str, tuple[Any, ...], Any]) -> Commit:
        result, rev = self.store.submit(*prepared)
        await self._waits().wait(rev)
        assert isinstance(result, Commit)
        return result

    def _waits(self) -> DurableWaits:
        loop = asyncio.get_running_loop()
        waits = self._durable_waits.get(loop)
        if waits is None:
            waits = self._durable_waits[loop] = DurableWaits(loop, self.store)
        return waits

    async def txn(self, checks: Sequence[Check], writes: Sequence[Put | Delete]) -> TxnResult:
        return await asyncio.to_thread(self.store.txn, checks, writes)

    async def create_namespace(self, name: str, exist_ok: bool, **settings: Any) -> Namespace:
        return await asyncio.to_thread(
            self.store.create_namespace, name, exist_ok=exist_ok, **settings
        )

    async def update_namespace(self, name: str, **settings: Any) -> Namespace:
        return await asyncio.to_thread(self.store.update_namespace, name, **settings)

    async def put_namespace(self, name: str, settings: dict[str, Any]) -> Namespace:
        """Create the namespace, or change the given settings of an existing one."""
        if not isinstance(settings, dict):
            raise InvalidRequest("namespace settings are a JSON object")
        try:
            self.store.namespace(name)
        except KeyError:
            return await self.create_namespace(name, True, **settings)
        return await self.update_namespace(name, **settings)

    def close(self) -> None:
        self.store.close()
