"""The embedded store's pending writes: a rev that becomes durable when the journal says so.

A write runs in memory under the system lock and returns at once with its rev; its
`JournalPending` resolves when the journal's durable seq reaches that rev (a command's
rev is its journal seq). A thread waits with `result()`, which leads or joins a group
commit (`Journal.sync`). An event loop awaits it through `DurableWaits`, one per loop.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Generator
from typing import Any, Generic, Protocol, TypeVar

T = TypeVar("T")


class DurableSource(Protocol):
    @property
    def durable_rev(self) -> int: ...
    def sync(self, rev: int) -> None: ...
    def flush_soon(self, rev: int) -> None: ...
    def waits(self) -> DurableWaits: ...


class JournalPending(Generic[T]):
    """A write's result, to be shown once `rev` is durable (a `revkv.store.base.Pending`)."""

    __slots__ = ("_rev", "_source", "_value")

    def __init__(self, value: T, rev: int, source: DurableSource) -> None:
        self._value = value
        self._rev = rev
        self._source = source

    def done(self) -> bool:
        return self._source.durable_rev >= self._rev

    def result(self) -> T:
        self._source.sync(self._rev)
        return self._value

    def __await__(self) -> Generator[Any, None, T]:
        source = self._source
        if source.durable_rev < self._rev:
            source.flush_soon(self._rev)
            yield from source.waits().wait(self._rev).__await__()
        return self._value


class DurableWaits:
    """Writers on one event loop, waiting for their revs to be durable.

    A flush makes many writes durable at once; this wakes the loop once per flush (one
    `call_soon_threadsafe`) and resolves every waiter it covers, where a Future per write
    would cost a lock and a wake-up each. Waiters are kept in rev order: writes are
    submitted one after another on the loop's thread.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        durable_rev: int,
        subscribe: Callable[[Callable[[int], None], Callable[[BaseException], None]], None],
    ) -> None:
        self.loop = loop
        self.published = durable_rev
        self.waiting: deque[tuple[int, asyncio.Future[None]]] = deque()
        self.scheduled = False
        self.failed: BaseException | None = None
        subscribe(self._on_durable, self._on_failure)

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
