"""Watch fan-out: catch up from a rev, then follow live; never miss or repeat a change.

A watch is a cursor into the store's change log plus a filter (namespace, key prefix).
It pulls durable commits after its cursor in rev order, so a slow watcher costs only its
own position and a compacted one learns so (`Compacted`, or one `reset` event with the
current state when it asked to resync). So does one that resumes from a rev the store has
not reached (`RevAhead`, a `Compacted`): it saw that rev before a repair or a restore set
the newest commits aside, and following on from there would silently skip every commit
up to it. The hub only wakes watchers:

- blocking watchers (threads) sleep on one condition, notified per durable advance;
- async watchers (the HTTP server's thousands of idle streams) are grouped by event
  loop and indexed by namespace and prefix: per durable advance each loop is woken once,
  and on that loop only the watchers whose filter matches a new commit are woken. An
  idle watcher costs no work per write.

`notify()` runs on the thread that made records durable, before their writers are
released; it only records the rev and schedules wake-ups.

A hub over a database (`Hub(offload=True)`, chosen by the Service when the store's reads
wait on I/O) never reads on an event loop: a loop's dispatcher reads the commits after
the last rev it dispatched on a worker thread, as does each async watch's pull (`awatch`
opens one with its catch-up there too). A read that fails (the database down) wakes every
watcher of the loop; each then tries its own pull and raises the error from `anext`,
cursor unmoved, so a stream ends with it and a client resumes from its last rev once the
database is back (the same watch, asked again, resumes too). The embedded store answers
from memory, and its hub reads in place: a thread hop would cost more than the read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import weakref
from collections import deque
from collections.abc import AsyncIterator, Iterator
from typing import Protocol

from revkv._model import Commit, Event
from revkv.errors import Compacted, RevAhead, RevkvError

log = logging.getLogger(__name__)

PULL_LIMIT = 1000


class ChangeSource(Protocol):
    """What the hub needs of a store (a part of `revkv.store.base.Store`)."""

    @property
    def rev(self) -> int:
        """The newest durable rev."""
        ...

    def commits_after(self, rev: int, upto: int, limit: int) -> list[Commit]:
        """Durable commits with `rev < c.rev <= upto`; raises Compacted if some are gone.

        At most about `limit`: a rev's commits (a transaction) are never split.
        """
        ...

    def current_state(self, namespace: str | None, prefix: str | None) -> tuple[int, list[Commit]]:
        """(rev, every live commit under the filter at that rev)."""
        ...


def matches(commit: Commit, namespace: str | None, prefix: str | None) -> bool:
    return (namespace is None or commit.namespace == namespace) and (
        not prefix or commit.key.startswith(prefix)
    )


class Hub:
    """Wakes the watchers of one source. `offload`: its reads wait on I/O (a database),
    so on an event loop they run on worker threads (see the module's docstring)."""

    def __init__(self, source: ChangeSource, *, offload: bool = False) -> None:
        self.source = source
        self.offload = offload
        self._cond = threading.Condition()
        self._rev = source.rev
        self._closed = False
        self._loops: dict[asyncio.AbstractEventLoop, _LoopDispatcher] = {}
        self._loops_lock = threading.Lock()
        self._open: weakref.WeakSet[Watch] = weakref.WeakSet()
        self._reachers: list[_Reacher] = []  # `areached` callers, woken by notify

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def watchers(self) -> int:
        """How many watches are open (for /metrics)."""
        return len(self._open)

    def notify(self, rev: int) -> None:
        """Records up to `rev` are durable."""
        with self._cond:
            if rev <= self._rev:
                return
            self._rev = rev
            self._cond.notify_all()
            reached = [r for r in self._reachers if r.rev <= rev] if self._reachers else ()
        for reacher in reached:
            reacher.wake()
        for dispatcher in list(self._loops.values()):
            dispatcher.schedule(rev)

    def watch(
        self,
        since_rev: int | None = None,
        *,
        namespace: str | None = None,
        prefix: str | None = None,
        resync: bool = False,
    ) -> Watch:
        """Follow commits after `since_rev` (default: from now) under the filter."""
        watch = Watch(self, since_rev, namespace, prefix, resync)
        self._open.add(watch)
        return watch

    async def awatch(
        self,
        since_rev: int | None = None,
        *,
        namespace: str | None = None,
        prefix: str | None = None,
        resync: bool = False,
    ) -> Watch:
        """`watch` for an event loop: an offloading hub reads the catch-up (and checks
        the start rev: `Compacted`, `RevAhead`, a resync's state) on a worker thread."""
        if not self.offload:
            return self.watch(since_rev, namespace=namespace, prefix=prefix, resync=resync)
        watch = Watch(self, since_rev, namespace, prefix, resync, start=False)
        await asyncio.to_thread(watch._start, since_rev)
        self._open.add(watch)
        return watch

    async def areached(self, rev: int, timeout: float) -> bool:
        """Whether the source reaches `rev` within `timeout` seconds, waited for on the
        event loop (`notify` wakes it; nothing is read here, so a database's newest rev
        must come by its notifications or a `refresh`)."""
        if self.source.rev >= rev:
            return True
        reacher = _Reacher(rev, asyncio.get_running_loop())
        with self._cond:
            self._reachers.append(reacher)
        try:
            if self.source.rev < rev and not self._closed:  # else: notified meanwhile
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(reacher.future, timeout)
            return self.source.rev >= rev
        finally:
            with self._cond:
                self._reachers.remove(reacher)

    def close(self) -> None:
        """Tell every watcher the source is going away; their iteration ends."""
        self._closed = True
        with self._cond:
            self._cond.notify_all()
            reachers = list(self._reachers)
        for reacher in reachers:
            reacher.wake()
        for dispatcher in list(self._loops.values()):
            dispatcher.schedule(None)

    # -- used by Watch -----------------------------------------------------------------

    @property
    def rev(self) -> int:
        """The newest durable rev of the source."""
        return self.source.rev

    def _wait(self, seen_rev: int, timeout: float | None) -> None:
        with self._cond:
            if self._rev <= seen_rev and not self._closed:
                self._cond.wait(timeout)

    def _register(self, watch: Watch, loop: asyncio.AbstractEventLoop) -> None:
        with self._loops_lock:
            dispatcher = self._loops.get(loop)
            if dispatcher is None:
                dispatcher = self._loops[loop] = _LoopDispatcher(self, loop)
            dispatcher.add(watch)

    def _unregister(self, watch: Watch) -> None:
        with self._loops_lock:
            for loop, dispatcher in list(self._loops.items()):
                dispatcher.discard(watch)
                if not dispatcher.watches:
                    del self._loops[loop]


class _Reacher:
    """One `Hub.areached` call: the rev it waits for, and a future on its loop that
    `notify` (any thread) resolves."""

    __slots__ = ("future", "loop", "rev")

    def __init__(self, rev: int, loop: asyncio.AbstractEventLoop) -> None:
        self.rev = rev
        self.loop = loop
        self.future: asyncio.Future[None] = loop.create_future()

    def wake(self) -> None:
        with contextlib.suppress(RuntimeError):  # a closed loop: no one is waiting
            self.loop.call_soon_threadsafe(self._settle)

    def _settle(self) -> None:
        if not self.future.done():
            self.future.set_result(None)


class _LoopDispatcher:
    """Wakes, on one event loop, the async watchers a new commit concerns."""

    def __init__(self, hub: Hub, loop: asyncio.AbstractEventLoop) -> None:
        self.hub = hub
        self.loop = loop
        self.watches: set[Watch] = set()
        self.index: dict[str | None, dict[str, set[Watch]]] = {}
        self.dispatched = hub.source.rev
        self._scheduled = False
        self._reader: asyncio.Task[None] | None = None  # an offloading hub's reads

    def add(self, watch: Watch) -> None:
        self.watches.add(watch)
        self.index.setdefault(watch.namespace, {}).setdefault(watch.prefix or "", set()).add(watch)

    def discard(self, watch: Watch) -> None:
        if watch in self.watches:
            self.watches.discard(watch)
            by_prefix = self.index[watch.namespace]
            group = by_prefix[watch.prefix or ""]
            group.discard(watch)
            if not group:
                del by_prefix[watch.prefix or ""]
            if not by_prefix:
                del self.index[watch.namespace]

    def schedule(self, rev: int | None) -> None:
        if self._scheduled and rev is not None:
            return
        self._scheduled = True
        with contextlib.suppress(RuntimeError):  # a closed loop: its watchers are gone too
            self.loop.call_soon_threadsafe(self._dispatch)

    def _dispatch(self) -> None:
        self._scheduled = False
        if self.hub.closed:
            for watch in list(self.watches):
                watch._wake()
            return
        if self.hub.offload:
            if self._reader is None or self._reader.done():
                self._reader = self.loop.create_task(self._follow())
            return  # a read under way looks at the rev again when it is done
        upto = self.hub.source.rev
        if upto <= self.dispatched or not self.watches:
            self.dispatched = max(self.dispatched, upto)
            return
        try:
            commits = self.hub.source.commits_after(self.dispatched, upto, limit=1 << 62)
        except Compacted:
            commits = None
        self.dispatched = upto
        if commits is None:  # too far behind to tell: wake them all, they will find out
            for watch in list(self.watches):
                watch._wake()
            return
        for watch in self._concerned(commits):
            watch._wake()

    async def _follow(self) -> None:
        """The offloading hub's dispatch: read on a worker thread what came after the
        rev dispatched, until none is left. A read that fails (the database down) wakes
        every watcher: each finds out with its own pull, rather than wait on a commit it
        will not hear of again."""
        source = self.hub.source
        while not self.hub.closed:
            upto = source.rev
            if upto <= self.dispatched or not self.watches:
                self.dispatched = max(self.dispatched, upto)
                return
            commits: list[Commit] | None
            try:
                commits = await asyncio.to_thread(
                    source.commits_after, self.dispatched, upto, 1 << 62
                )
            except Compacted:
                commits = None
            except Exception as error:  # a traceback only for what is not revkv's own
                log.warning(
                    "cannot read the commits after rev %s: %s", self.dispatched, error,
                    exc_info=not isinstance(error, RevkvError),
                )  # fmt: skip
                commits = None
            self.dispatched = upto
            for watch in list(self.watches) if commits is None else self._concerned(commits):
                watch._wake()

    def _concerned(self, commits: list[Commit]) -> set[Watch]:
        woken: set[Watch] = set()
        for namespace in (None, *{c.namespace for c in commits}):
            by_prefix = self.index.get(namespace)
            if not by_prefix:
                continue
            keys = [c.key for c in commits if namespace is None or c.namespace == namespace]
            for prefix, group in by_prefix.items():
                if not prefix or any(k.startswith(prefix) for k in keys):
                    woken |= group
        return woken


class Watch:
    """An iterator (and async iterator) of Events; `close()` ends it.

    Iteration ends when the watch is closed or the hub goes away (server shutdown).
    """

    def __init__(
        self,
        hub: Hub,
        since_rev: int | None,
        namespace: str | None,
        prefix: str | None,
        resync: bool,
        *,
        start: bool = True,
    ) -> None:
        self.hub = hub
        self.namespace = namespace
        self.prefix = prefix or None
        self.resync = resync
        self.cursor = hub.source.rev if since_rev is None else since_rev
        self.start = self.cursor  # the rev it follows from (the cursor moves on)
        self._buffer: deque[Event] = deque()
        self._closed = False
        self._event: asyncio.Event | None = None
        if start:
            self._start(since_rev)

    def _start(self, since_rev: int | None) -> None:
        """Check the start rev and pull the catch-up: fail at once (`Compacted`,
        `RevAhead`) rather than at the first next()."""
        current = self.hub.source.rev
        if since_rev is not None and since_rev > current:
            if not self.resync:
                raise RevAhead(since_rev, current)
            self._reset()
        self._pull()

    def _pull(self) -> bool:
        """Move durable events after the cursor into the buffer; whether any came.

        Pulls page after page until one holds a matching event or the cursor reaches
        the durable rev, so a filtered watch far behind never sleeps on work it has.
        """
        while self.cursor < self.hub.source.rev:
            if self._pull_page():
                return True
        return False

    def _pull_page(self) -> bool:
        source = self.hub.source
        upto = source.rev
        if upto <= self.cursor:
            return False
        try:
            commits = source.commits_after(self.cursor, upto, PULL_LIMIT)
        except Compacted:
            if not self.resync:
                raise
            self._reset()
            return True
        if len(commits) >= PULL_LIMIT:  # a partial pull ends with a whole rev
            upto = commits[-1].rev
        before = len(self._buffer)
        ns, prefix = self.namespace, self.prefix
        self._buffer.extend(Event.of(c) for c in commits if matches(c, ns, prefix))
        self.cursor = upto
        return len(self._buffer) > before

    def _reset(self) -> None:
        """Start over from the current state: one `reset` event that holds all of it."""
        rev, state = self.hub.source.current_state(self.namespace, self.prefix)
        self._buffer.append(Event("reset", rev, None, state))
        self.cursor = rev

    # -- blocking ------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Event]:
        return self

    def __next__(self) -> Event:
        event = self.next(timeout=None)
        if event is None:
            raise StopIteration
        return event

    def next(self, timeout: float | None = None) -> Event | None:
        """The next event, or None once `timeout` seconds pass (or the watch ends)."""
        deadline = None if timeout is None else _now() + timeout
        while not self._buffer:
            if self._closed or self.hub.closed:
                return self._last()
            if self._pull():
                break
            remaining = None if deadline is None else deadline - _now()
            if remaining is not None and remaining <= 0:
                return None
            self.hub._wait(self.cursor, 1.0 if remaining is None else min(remaining, 1.0))
        return self._buffer.popleft()

    # -- async -------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        event = await self.anext(timeout=None)
        if event is None:
            raise StopAsyncIteration
        return event

    async def anext(self, timeout: float | None = None) -> Event | None:
        """The next event, or None after `timeout` seconds (or when the watch ends)."""
        if self._event is None:
            self._event = asyncio.Event()
            self.hub._register(self, asyncio.get_running_loop())
        offload = self.hub.offload
        while not self._buffer:
            if self._closed or self.hub.closed:
                return (await self._alast()) if offload else self._last()
            self._event.clear()
            if (await self._apull()) if offload else self._pull():
                break
            try:
                await asyncio.wait_for(self._event.wait(), timeout)
            except TimeoutError:
                return None
        return self._buffer.popleft()

    async def _apull(self) -> bool:
        """`_pull` on a worker thread (an offloading hub's), when there is anything to
        read: its error (`DatabaseUnavailable`) is raised here, the cursor unmoved."""
        if self.cursor >= self.hub.source.rev:
            return False
        return await asyncio.to_thread(self._pull)

    async def _alast(self) -> Event | None:
        """`_last` with its pull on a worker thread."""
        if not self._closed and self.hub.closed and await self._apull():
            return self._buffer.popleft()
        return None

    @property
    def behind(self) -> bool:
        """Whether durable changes past the cursor are left to look at."""
        return self.cursor < self.hub.source.rev

    @property
    def ended(self) -> bool:
        """Whether the hub went away (the server is shutting down)."""
        return self.hub.closed

    def _last(self) -> Event | None:
        """Once the hub is gone, what was made durable before it went, then the end."""
        if not self._closed and self.hub.closed and self._pull():
            return self._buffer.popleft()
        return None

    def _wake(self) -> None:
        if self._event is not None:
            self._event.set()

    def close(self) -> None:
        self._closed = True
        self._wake()
        with self.hub._cond:  # a blocking next() in another thread returns now
            self.hub._cond.notify_all()
        self.hub._open.discard(self)
        if self._event is not None:
            self.hub._unregister(self)

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _now() -> float:
    import time

    return time.monotonic()
