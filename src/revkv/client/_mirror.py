"""`Mirror`: a local read-only copy of one namespace (or a prefix of it), kept up to date.

In the manner of ZooKeeper's mirrors: a dict-like view that a background thread keeps
current from a watch, with `on_change` callbacks. It works over the embedded store and
over a `Client` alike, through what both offer: `rev`, `list`, `changes` and a
blocking `watch`.

Why it neither misses nor repeats a change:

- It starts from a snapshot: `rev` first, then every key's newest commit, tombstones
  included, page by page; then it watches from that rev with `resync=True`. A page
  may already show a commit newer than the rev; its event comes again and is skipped.
- Each key remembers the rev of the commit the view holds for it (a tombstone's too):
  an event is applied only when it is newer, so whatever a resume replays is skipped.
- A `Client` watch resumes by itself after a dropped connection. When a watch ends
  (server shutdown) or cannot be opened (server down), the mirror opens a new one
  from the last rev it applied, retrying with back-off until it is closed.
- A `reset` event (the watch fell behind the change log, or resumed from a rev the
  source has not reached: it was repaired or restored) replaces the whole view.

`mirror[key]` is a `Commit`, what `store.get(namespace, key)` returns (`.payload` for
the bytes). An expired key stays in the view until the server records its expiry (the
sweeper's tombstone, within about a second). Callbacks run on the mirror's thread,
after the view changed, in rev order; they see only changes made after the snapshot.
`wait_for(rev)` returns once the view holds every change up to `rev` and the callbacks
for them have run.
"""

from __future__ import annotations

import builtins
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Protocol

from revkv._model import Commit, Event, Page, check_namespace_name
from revkv.client._sync import Client
from revkv.errors import NamespaceNotFound

if TYPE_CHECKING:
    from revkv._service import Service

log = logging.getLogger(__name__)

Callback = Callable[[Event], None]
PAGE = 1000
BATCH = 1000  # events applied under one lock
PROBE_EVERY = 0.2  # seconds, while wait_for waits for a rev outside the mirror's filter
RETRY_FIRST = 0.05
RETRY_MAX = 2.0


class Events(Protocol):
    def next(self, timeout: float | None = None) -> Event | None: ...
    def __iter__(self) -> Iterator[Event]: ...
    def close(self) -> None: ...


class Source(Protocol):
    """What a mirror needs of a store: the embedded store and `Client` both have it."""

    @property
    def rev(self) -> int: ...
    def list(
        self,
        namespace: str,
        *,
        prefix: str | None = None,
        start_after: str | None = None,
        limit: int = 1000,
        include_deleted: bool = False,
    ) -> Page: ...
    def changes(
        self,
        since_rev: int,
        *,
        namespace: str | None = None,
        prefix: str | None = None,
        limit: int = 1000,
    ) -> builtins.list[Event]: ...
    def watch(
        self,
        since_rev: int | None = None,
        *,
        namespace: str | None = None,
        prefix: str | None = None,
        resync: bool = False,
    ) -> Events: ...


class Mirror:
    """`Mirror(client_or_store, namespace, prefix=None)`: a live dict-like view of Commits."""

    def __init__(self, source: Source, namespace: str, prefix: str | None = None) -> None:
        self.namespace = check_namespace_name(namespace)
        self.prefix = prefix or None
        self.last_error: BaseException | None = None
        self._source = source
        self._data: dict[str, Commit] = {}
        self._revs: dict[str, int] = {}  # per key: the rev of what the view holds
        self._applied = 0  # the view holds every change up to this rev
        self._partial = False  # _applied came from an event: its transaction may go on
        self._rev = 0  # ... and the callbacks for them have run (what wait_for waits for)
        self._reset = False  # a reset was applied and not yet published
        self._cond = threading.Condition()
        self._callbacks: list[Callback] = []
        self._closed = threading.Event()
        self._watch: Events | None = None
        self._load()
        self._thread = threading.Thread(target=self._follow, name="revkv-mirror", daemon=True)
        self._thread.start()

    # -- the view ------------------------------------------------------------------------

    def __getitem__(self, key: str) -> Commit:
        with self._cond:
            return self._data[key]

    def get(self, key: str, default: Commit | None = None) -> Commit | None:
        with self._cond:
            return self._data.get(key, default)

    def __contains__(self, key: object) -> bool:
        with self._cond:
            return key in self._data

    def __len__(self) -> int:
        with self._cond:
            return len(self._data)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def keys(self) -> builtins.list[str]:
        """The keys present now, sorted (a copy: the view may change meanwhile)."""
        with self._cond:
            return sorted(self._data)

    def items(self) -> builtins.list[tuple[str, Commit]]:
        with self._cond:
            return sorted(self._data.items())

    def values(self) -> builtins.list[Commit]:
        return [commit for _, commit in self.items()]

    @property
    def rev(self) -> int:
        """The view holds every change up to this rev (at least)."""
        with self._cond:
            return self._rev

    def on_change(self, callback: Callback) -> Callback:
        """Call `callback(event)` after each change to the view (usable as a decorator)."""
        self._callbacks.append(callback)
        return callback

    def wait_for(self, rev: int, timeout: float | None = None) -> bool:
        """Wait until the view holds every change up to `rev`; False on timeout or close."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._cond:
                if self._rev >= rev:
                    return True
                remaining = None if deadline is None else deadline - time.monotonic()
                if self._closed.is_set() or (remaining is not None and remaining <= 0):
                    return False
                self._cond.wait(PROBE_EVERY if remaining is None else min(remaining, PROBE_EVERY))
                if self._rev >= rev:
                    return True
            self._probe()

    def close(self) -> None:
        """Stop following; the view keeps its last state."""
        with self._cond:
            self._closed.set()
            watch = self._watch
            self._cond.notify_all()
        if watch is not None:
            watch.close()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> Mirror:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- keeping it current -------------------------------------------------------------

    def _load(self) -> None:
        rev = self._source.rev
        data: dict[str, Commit] = {}
        revs: dict[str, int] = {}
        cursor = None
        try:
            while True:
                page = self._source.list(
                    self.namespace, prefix=self.prefix, start_after=cursor, limit=PAGE,
                    include_deleted=True,
                )  # fmt: skip
                for commit in page.items:
                    revs[commit.key] = commit.rev
                    if not commit.deleted:
                        data[commit.key] = commit
                if page.next is None:
                    break
                cursor = page.next
        except NamespaceNotFound:
            pass  # empty until its first write
        with self._cond:
            self._data, self._revs, self._partial = data, revs, False
            self._applied = self._rev = rev
            self._cond.notify_all()

    def _follow(self) -> None:
        failures = 0
        while not self._closed.is_set():
            try:
                self._follow_once()
                failures = 0
            except Exception as exc:
                self.last_error = exc
                failures += 1
                report = log.warning if failures == 1 else log.debug
                report("mirror of %r: %s; retrying", self.namespace, exc)
            if _ended(self._source):
                return
            self._closed.wait(min(RETRY_FIRST * 2**failures, RETRY_MAX))

    def _follow_once(self) -> None:
        since = self._since()
        watch = self._source.watch(since, namespace=self.namespace, prefix=self.prefix, resync=True)
        with self._cond:
            if self._closed.is_set():
                watch.close()
                return
            self._watch = watch
        try:
            for event in watch:
                batch = [event]
                while len(batch) < BATCH and (more := watch.next(timeout=0)) is not None:
                    batch.append(more)
                self._tell(self._apply(batch))
                self._publish()
        finally:
            with self._cond:
                self._watch = None
            watch.close()

    def _apply(self, batch: builtins.list[Event]) -> builtins.list[Event]:
        """Apply what is new to the view; the events that changed it."""
        changed = []
        with self._cond:
            for event in batch:
                if event.type == "reset":
                    self._reset = True
                    state = event.state or []
                    self._data = {c.key: c for c in state if not c.deleted}
                    self._revs = {c.key: c.rev for c in state}
                    self._applied, self._partial = event.rev, False
                    changed.append(event)
                    continue
                if event.rev >= self._applied:
                    self._applied, self._partial = event.rev, True
                commit = event.commit
                if commit is None or commit.rev <= self._revs.get(commit.key, 0):
                    continue  # in the snapshot already, or replayed by a resume
                self._revs[commit.key] = commit.rev
                if not commit.deleted:
                    self._data[commit.key] = commit
                elif self._data.pop(commit.key, None) is None:
                    continue
                changed.append(event)
        return changed

    def _publish(self) -> None:
        with self._cond:
            # after a reset the source's rev may be lower (it was repaired): follow it down
            self._rev = self._applied if self._reset else max(self._rev, self._applied)
            self._reset = False
            self._cond.notify_all()

    def _since(self) -> int:
        with self._cond:
            return self._applied - 1 if self._partial else self._applied

    def _tell(self, events: builtins.list[Event]) -> None:
        for event in events:
            for callback in builtins.list(self._callbacks):
                try:
                    callback(event)
                except Exception:
                    log.exception("mirror of %r: on_change callback failed", self.namespace)

    def _probe(self) -> None:
        """Ask the source whether anything under the filter is pending; if not, catch up.

        A rev outside the filter (another namespace, another prefix) never arrives as an
        event: the view is current through the source's rev when no change is pending.
        """
        since = self._since()
        try:
            current = self._source.rev
            events = self._source.changes(
                since, namespace=self.namespace, prefix=self.prefix, limit=PAGE
            )
        except Exception as exc:
            log.debug("mirror of %r: probe failed: %s", self.namespace, exc)
            return
        with self._cond:
            pending = [
                e for e in events if e.commit is None or e.rev > self._revs.get(e.commit.key, 0)
            ]
            settled = self._rev == self._applied  # no callbacks running for applied events
            if settled and not pending and len(events) < PAGE and current > self._applied:
                self._applied = self._rev = current
                self._partial = False
                self._cond.notify_all()


def _ended(source: Source) -> bool:
    """Whether the source is closed for good: then the mirror stops following it."""
    if isinstance(source, Client):
        return source.closed
    return bool(getattr(source, "closed", False))  # the Service of revkv.open()


if TYPE_CHECKING:

    def _sources(store: Service, client: Client) -> builtins.list[Source]:
        return [store, client]  # mypy checks that both can be mirrored
