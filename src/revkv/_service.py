"""The Service: what `revkv.open()` returns and every door calls, over any backend.

A backend (`revkv.store.base.Store`) keeps commits; the Service adds, once for all of
them, what users and doors need around it:

- the watch hub (live changes for every watcher, fed by the backend's durable revs) and
  the TTL sweeper (a thread stepping the backend's `sweep`);
- who may do what: writes take the `principal` a door authenticated, checked here, and
  sign commits with its name when no author is given;
- one compare-and-set convention: `expect=` is the version the caller read (0 or
  "absent": create only; "exists": any live version), turned into a
  `revkv._model.Condition` that the backend checks under its lock;
- the Python API's conveniences: `get(..., default=)`, auto-paging iterators, a
  namespace handle, `keys`, `changes`.

Writes come in two forms over one path: `put()` waits in the calling thread (for
scripts and the CLI), `aput()` awaits on an event loop (for the HTTP server), both on the
backend's `Pending`; the embedded backend shares each fsync among all waiting writers.
Namespace changes and transactions, which may be large, run in a worker thread.
"""

from __future__ import annotations

import asyncio
import builtins
import dataclasses
import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import msgspec

from revkv._auth import ANONYMOUS, Auth, Principal
from revkv._hub import Hub, Watch, matches
from revkv._model import (
    DEFAULT,
    Check,
    Commit,
    Condition,
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
from revkv._sweeper import Sweeper
from revkv._view import NamespaceView
from revkv.errors import (
    Forbidden,
    InvalidRequest,
    NotFound,
    RevAhead,
    RevNotReached,
    VersionPurged,
)
from revkv.prevalence._backup import BackupPlan
from revkv.store.base import (
    TTL,
    AsyncReads,
    CompactionReport,
    Expires,
    Pending,
    Select,
    Selection,
    Store,
    StoreStats,
    Window,
)

T = TypeVar("T")


class _Missing:
    def __repr__(self) -> str:
        return "<no default>"


_MISSING: Any = _Missing()


REFRESH_EVERY = 0.25
"""Seconds between reads of a shared database's committed rev while a read waits for
a min rev (`Service.areach`): notifications usually come first."""


class Service:
    """A store with its hub, sweeper and rules. Thread-safe; close it (or use `with`).

    `sweep_interval` None leaves expiries to be recorded by writes only (a read-only
    tool, a replica). The backend is the Service's alone: doors and commands call the
    Service, never the backend.
    """

    def __init__(
        self,
        store: Store,
        auth: Auth | None = None,
        *,
        sweep_interval: float | None = 1.0,
    ) -> None:
        self._store = store
        self.auth = auth or Auth(())
        self._async_reads = store if isinstance(store, AsyncReads) else None
        self.hub = Hub(store, offload=self._async_reads is not None)
        store.add_durable_listener(self.hub.notify)
        self._sweeper = Sweeper(store, sweep_interval) if sweep_interval else None
        self._closed = False
        #: what doors rendered for immutable versions (headers, say); valid for this store
        self.rendered: dict[Any, Any] = {}

    @property
    def backend(self) -> Store:
        """The backend underneath, for tests and maintenance tools (doors never use it)."""
        return self._store

    # -- who -------------------------------------------------------------------------

    def principal(self, authorization: str | None) -> Principal:
        """Who sends `Authorization: ...` (`Unauthorized` for a bad or missing token)."""
        return self.auth.authenticate(authorization)

    def authorize(self, principal: Principal, namespace: str | None, write: bool) -> None:
        """`Forbidden` unless `principal` may read (or write) `namespace` (None: all)."""
        self.auth.authorize(principal, namespace, write)

    def _signed(
        self, principal: Principal | None, namespace: str, author: str | None
    ) -> str | None:
        if principal is None:
            return author
        if principal is ANONYMOUS:  # no tokens: everyone may, and signs as anyone
            return author
        self.auth.authorize(principal, namespace, True)
        return principal.author_of(author)

    # -- namespaces --------------------------------------------------------------------

    def create_namespace(self, name: str, *, exist_ok: bool = False, **settings: Any) -> Namespace:
        """Create `name` with `settings`; `NamespaceExists` unless `exist_ok`."""
        return self._store.create_namespace(name, exist_ok=exist_ok, **settings)

    def update_namespace(self, name: str, **settings: Any) -> Namespace:
        return self._store.update_namespace(name, **settings)

    def get_namespace(self, name: str) -> Namespace:
        """The settings of `name`; `NamespaceNotFound`."""
        return self._store.get_namespace(name)

    async def aget_namespace(self, name: str) -> Namespace:
        """`get_namespace` for an event loop: when reads wait on a database, settings
        the store keeps in memory (`kept_namespace`) are answered at once and others
        read on a worker thread, so a cold cache (a listener not yet up, a change just
        heard) never runs a query on the loop."""
        if not self.reads_wait:
            return self._store.get_namespace(name)
        kept = getattr(self._store, "kept_namespace", None)
        found: Namespace | None = None if kept is None else kept(name)
        if found is None:
            found = await asyncio.to_thread(self._store.get_namespace, name)
        return found

    def namespaces(self) -> builtins.list[Namespace]:
        return self._store.namespaces()

    async def anamespaces(self) -> builtins.list[Namespace]:
        """`namespaces` for an event loop (on a worker thread when reads wait)."""
        if not self.reads_wait:
            return self._store.namespaces()
        return await asyncio.to_thread(self._store.namespaces)

    def namespace(self, name: str) -> NamespaceView:
        """A handle for code that works in one namespace: `cfg.put("k", v)`, `cfg["k"]`."""
        return NamespaceView(self, check_namespace_name(name))

    async def acreate_namespace(self, name: str, exist_ok: bool, **settings: Any) -> Namespace:
        return await asyncio.to_thread(
            self._store.create_namespace, name, exist_ok=exist_ok, **settings
        )

    async def aupdate_namespace(self, name: str, **settings: Any) -> Namespace:
        return await asyncio.to_thread(self._store.update_namespace, name, **settings)

    async def aput_namespace(
        self, name: str, settings: dict[str, Any], principal: Principal | None = None
    ) -> Namespace:
        """Create the namespace, or change the given settings of an existing one."""
        if principal is not None:
            self.authorize(principal, name, True)
        if not isinstance(settings, dict):
            raise InvalidRequest("namespace settings are a JSON object")
        return await asyncio.to_thread(self._put_namespace, name, settings)

    def _put_namespace(self, name: str, settings: dict[str, Any]) -> Namespace:
        """Create `name` or change its settings (one worker thread: both may read)."""
        try:
            self._store.get_namespace(name)
        except NotFound:
            return self._store.create_namespace(name, exist_ok=True, **settings)
        return self._store.update_namespace(name, **settings)

    # -- reads -----------------------------------------------------------------------

    @property
    def rev(self) -> int:
        """The newest durable rev."""
        return self._store.rev

    async def areach(self, rev: int, wait: float) -> None:
        """Return once this Service's view has reached `rev` (a client's min rev: a
        write it made through another server sharing the database).

        A backend that other processes write to (`refresh`: PostgreSQL) is asked its
        committed rev at once, on a worker thread, and again every `REFRESH_EVERY`
        seconds of the wait, so a late or lost notification costs no more than that;
        in between, the hub's notifications wake the wait; `RevNotReached` after
        `wait` seconds. A store with no other writer (the embedded one) has one view,
        and acknowledges a write only once it is durable there: a rev ahead of it was
        never made here (a repair or a restore set it aside, or it is another store's),
        so it is `RevAhead` at once, as a watch from that rev is.
        """
        store = self._store
        if store.rev >= rev:
            return
        refresh = getattr(store, "refresh", None)
        if refresh is None:
            raise RevAhead(rev, store.rev)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            await asyncio.to_thread(refresh)
            remaining = deadline - loop.time()
            if store.rev >= rev or await self.hub.areached(
                rev, max(min(remaining, REFRESH_EVERY), 0.0)
            ):
                return
            if loop.time() >= deadline:
                raise RevNotReached(rev, store.rev, wait)

    def get(
        self, namespace: str, key: str, version: int | None = None, *, default: Any = _MISSING
    ) -> Commit:
        """The newest live version of `key` (or `version` of it): `KeyNotFound`,
        `VersionNotFound`, `NamespaceNotFound` (all `KeyError`s), unless a `default`
        is given, which is returned instead."""
        try:
            commit = self._store.get(namespace, key, version)
        except NotFound:
            if default is _MISSING:
                raise
            result: Commit = default
            return result
        if commit.purged:
            if default is _MISSING:
                raise VersionPurged(namespace, key, commit.version)
            return default  # type: ignore[no-any-return]
        return commit

    @property
    def reads_wait(self) -> bool:
        """Whether reads wait on I/O (a database server): a door on an event loop then
        awaits `aget` and runs its other reads in a worker thread, so that one read's
        round trip never holds up every other request."""
        return self._async_reads is not None

    async def aget(self, namespace: str, key: str, version: int | None = None) -> Commit:
        """`get` for an event loop (no `default`): awaits a backend whose reads wait on
        I/O, asks any other at once. A purged version raises `VersionPurged`, as in `get`."""
        if self._async_reads is None:
            commit = self._store.get(namespace, key, version)
        else:
            commit = await self._async_reads.aget(namespace, key, version)
        if commit.purged:
            raise VersionPurged(namespace, key, commit.version)
        return commit

    def meta(
        self,
        namespace: str,
        key: str,
        version: int | None = None,
        *,
        include_deleted: bool = False,
    ) -> Meta:
        """A version's metadata; `include_deleted` also returns a tombstone or expired head."""
        if version is None and include_deleted:
            return self._store.head(namespace, key)
        return self._store.get(namespace, key, version).meta

    def head(self, namespace: str, key: str) -> Meta:
        """The newest version's meta, a tombstone included (Rainer shows empty commits)."""
        return self._store.head(namespace, key)

    def history(
        self, namespace: str, key: str, *, limit: int = 100, before: int | None = None
    ) -> Page:
        """Versions newest first; pass `page.next` as `before` for the next page."""
        return self._store.history(namespace, key, limit=limit, before=before)

    def iter_history(self, namespace: str, key: str, *, page_size: int = 100) -> Iterator[Meta]:
        """Every version, newest first, a page at a time."""
        before = None
        while True:
            page = self._store.history(namespace, key, limit=page_size, before=before)
            yield from page.items
            if page.next is None:
                return
            before = page.next

    def list(
        self,
        namespace: str,
        *,
        prefix: str | None = None,
        start_after: str | None = None,
        limit: int = 1000,
        include_deleted: bool = False,
    ) -> Page:
        """Newest versions in key order (with payloads); pass `page.next` as `start_after`."""
        return self._store.list(
            namespace,
            prefix=prefix,
            start_after=start_after,
            limit=limit,
            include_deleted=include_deleted,
        )

    def iter_list(
        self,
        namespace: str,
        *,
        prefix: str | None = None,
        include_deleted: bool = False,
        page_size: int = 1000,
    ) -> Iterator[Commit]:
        """Every newest version in key order, a page at a time."""
        cursor = None
        while True:
            page = self.list(
                namespace,
                prefix=prefix,
                start_after=cursor,
                limit=page_size,
                include_deleted=include_deleted,
            )
            yield from page.items
            if page.next is None:
                return
            cursor = page.next

    def keys(self, namespace: str, *, prefix: str | None = None) -> builtins.list[str]:
        return [c.key for c in self.iter_list(namespace, prefix=prefix, page_size=10_000)]

    def count(
        self, namespace: str, *, prefix: str | None = None, include_deleted: bool = False
    ) -> int:
        return self._store.count(namespace, prefix=prefix, include_deleted=include_deleted)

    def select(self, namespace: str, query: Select, window: Window | None = None) -> Selection:
        """The newest versions matching a parsed `$filter`/`$orderby` (see `Select`)."""
        return self._store.select(namespace, query, window or Window())

    # -- changes ---------------------------------------------------------------------

    def changes(
        self,
        since_rev: int,
        *,
        namespace: str | None = None,
        prefix: str | None = None,
        limit: int = 1000,
    ) -> builtins.list[Event]:
        """Durable changes after `since_rev`, in rev order (`Compacted` when too old,
        `RevAhead` when past the current rev).

        About `limit` of them: a transaction's events (one rev) are never split, so a
        caller can resume from the last event's rev.
        """
        if namespace is not None:
            check_namespace_name(namespace)
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise InvalidRequest(f"limit must be a positive integer, not {limit!r}")
        events: builtins.list[Event] = []
        cursor = since_rev
        upto = self._store.rev
        if since_rev > upto:
            raise RevAhead(since_rev, upto)
        while len(events) < limit:
            commits = self._store.commits_after(cursor, upto, limit)
            if not commits:
                break
            events.extend(Event.of(c) for c in commits if matches(c, namespace, prefix))
            cursor = commits[-1].rev
        cut = limit
        while cut < len(events) and events[cut].rev == events[cut - 1].rev:
            cut += 1
        return events[:cut]

    def iter_changes(
        self, since_rev: int, *, namespace: str | None = None, prefix: str | None = None
    ) -> Iterator[Event]:
        """Every change after `since_rev` up to now, a page at a time (see `watch` to
        follow on)."""
        cursor = since_rev
        while True:
            events = self.changes(cursor, namespace=namespace, prefix=prefix, limit=1000)
            yield from events
            if len(events) < 1000:
                return
            cursor = events[-1].rev

    def watch(
        self,
        since_rev: int | None = None,
        *,
        namespace: str | None = None,
        prefix: str | None = None,
        resync: bool = False,
    ) -> Watch:
        """Follow changes live (iterate, or `async for`); from now when `since_rev` is None."""
        if namespace is not None:
            check_namespace_name(namespace)
        return self.hub.watch(since_rev, namespace=namespace, prefix=prefix, resync=resync)

    async def awatch(
        self,
        since_rev: int | None = None,
        *,
        namespace: str | None = None,
        prefix: str | None = None,
        resync: bool = False,
    ) -> Watch:
        """`watch` for an event loop (then `async for`, or `await w.anext(timeout)`):
        when reads wait on a database, the catch-up and every later pull run on a worker
        thread, and a failed one (`DatabaseUnavailable`) is raised by `anext` with the
        watch's position kept, so that asking again resumes without a gap."""
        if namespace is not None:
            check_namespace_name(namespace)
        return await self.hub.awatch(since_rev, namespace=namespace, prefix=prefix, resync=resync)

    # -- writes ------------------------------------------------------------------------

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
    ) -> Commit:
        """Commit the next version of `key`; durable on return.

        `expect` is compare-and-set on the version you read: the write happens only if
        the key is still at that version (0 or "absent": only if it has no live version;
        "exists": only if it has one), else `VersionConflict`, which names the current
        version. `ttl` (seconds) or `expires` (a time) end its life; by default the
        namespace's `default_ttl`, None for never.
        """
        return self.begin_put(
            namespace, key, payload, expect=expect, author=author, comment=comment,
            ttl=ttl, expires=expires,
        ).result()  # fmt: skip

    def aput(
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
        mtime: float | None = None,
        principal: Principal | None = None,
    ) -> Pending[Commit]:
        """`put` for an event loop: await it. `mtime` is a time the client vouches for
        (Rainer's); `principal` the door's caller, checked and signing the commit."""
        return self.begin_put(
            namespace, key, payload, expect=expect, author=author, comment=comment,
            ttl=ttl, expires=expires, mtime=mtime, principal=principal,
        )  # fmt: skip

    def begin_put(
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
        mtime: float | None = None,
        principal: Principal | None = None,
    ) -> Pending[Commit]:
        """The write of `put`, not yet waited for (see `revkv.store.base.Pending`)."""
        author = self._signed(principal, namespace, author)
        return self._store.begin_put(
            namespace, key, payload, condition=_condition(expect), author=author or "",
            comment=comment or "", ttl=ttl, expires=expires, mtime=mtime,
            token=_token_of(principal),
        )  # fmt: skip

    def delete(
        self,
        namespace: str,
        key: str,
        *,
        expect: Expect | None = None,
        author: str | None = None,
        comment: str | None = None,
    ) -> Commit:
        """Commit a tombstone; the history stays readable and the key can come back.

        `KeyNotFound` if the key is not live; `expect` as for `put`.
        """
        return self.begin_delete(
            namespace, key, expect=expect, author=author, comment=comment
        ).result()

    def adelete(
        self,
        namespace: str,
        key: str,
        *,
        expect: Expect | None = None,
        author: str | None = None,
        comment: str | None = None,
        mtime: float | None = None,
        principal: Principal | None = None,
    ) -> Pending[Commit]:
        """`delete` for an event loop: await it."""
        return self.begin_delete(
            namespace, key, expect=expect, author=author, comment=comment, mtime=mtime,
            principal=principal,
        )  # fmt: skip

    def begin_delete(
        self,
        namespace: str,
        key: str,
        *,
        expect: Expect | None = None,
        author: str | None = None,
        comment: str | None = None,
        mtime: float | None = None,
        principal: Principal | None = None,
    ) -> Pending[Commit]:
        author = self._signed(principal, namespace, author)
        return self._store.begin_delete(
            namespace, key, condition=_condition(expect), author=author or "",
            comment=comment or "", mtime=mtime, token=_token_of(principal),
        )  # fmt: skip

    def revert(
        self,
        namespace: str,
        key: str,
        to_version: int,
        *,
        expect: Expect | None = None,
        author: str | None = None,
        comment: str | None = None,
    ) -> Commit:
        """Commit the payload of `to_version` again, as a new version (`expect` as for
        `put`); the comment defaults to "revert to version N"."""
        return self.begin_revert(
            namespace, key, to_version, expect=expect, author=author, comment=comment
        ).result()

    async def arevert(
        self,
        namespace: str,
        key: str,
        to_version: int,
        *,
        expect: Expect | None = None,
        author: str | None = None,
        comment: str | None = None,
        principal: Principal | None = None,
    ) -> Commit:
        """`revert` for an event loop. Its first step reads the version reverted to (a
        purged one is refused before anything is written): on a worker thread when reads
        wait on a database, so no query runs on the loop."""
        begin = functools.partial(
            self.begin_revert, namespace, key, to_version, expect=expect, author=author,
            comment=comment, principal=principal,
        )  # fmt: skip
        pending = await asyncio.to_thread(begin) if self.reads_wait else begin()
        return await pending

    def begin_revert(
        self,
        namespace: str,
        key: str,
        to_version: int,
        *,
        expect: Expect | None = None,
        author: str | None = None,
        comment: str | None = None,
        principal: Principal | None = None,
    ) -> Pending[Commit]:
        author = self._signed(principal, namespace, author)
        if isinstance(to_version, int) and self._store.get(namespace, key, to_version).purged:
            raise VersionPurged(namespace, key, to_version)
        return self._store.begin_revert(
            namespace, key, to_version, condition=_condition(expect), author=author or "",
            comment=comment or "", token=_token_of(principal),
        )  # fmt: skip

    def txn(self, checks: Sequence[Check], writes: Sequence[Put | Delete]) -> TxnResult:
        """All `writes` or none, with one rev, if every check holds (`TxnConflict`).

        A `Check` names the version you read (None: the key must be absent).
        """
        return self._store.begin_txn(checks, writes).result()

    async def atxn(
        self,
        checks: Sequence[Check],
        writes: Sequence[Put | Delete],
        principal: Principal | None = None,
    ) -> TxnResult:
        """`txn` on an event loop; with `principal`, every item must be allowed (one
        forbidden item refuses the whole) and writes without an author are signed."""
        if principal is not None:
            for item in (*checks, *writes):
                namespace = getattr(item, "namespace", None)
                if isinstance(namespace, str):
                    self.authorize(principal, namespace, isinstance(item, (Put, Delete)))
            writes = [_sign(w, principal) for w in writes]
        pending = await asyncio.to_thread(self._store.begin_txn, checks, writes)
        return await pending

    def import_commits(self, commits: Iterable[Commit]) -> int:
        """Load exported versions as they were (see `revkv import`): each key's must
        continue its history here without a gap; all are checked before any is loaded.
        Versions exported purged are loaded purged (without a payload either way)."""
        commits = builtins.list(commits)
        loaded = self._store.load(commits)
        purged: dict[tuple[str, str], int] = {}  # the newest purged version of each key
        newest: dict[tuple[str, str], Commit] = {}
        for commit in commits:
            where = (commit.namespace, commit.key)
            newest[where] = commit
            if commit.purged:
                purged[where] = max(purged.get(where, 0), commit.version)
        for (namespace, key), version in purged.items():
            every = newest[(namespace, key)].purged
            self._store.purge(namespace, key, before=None if every else version + 1)
        return loaded

    def import_keeping_revs(
        self, namespaces: Mapping[str, Mapping[str, Any]], commits: Iterable[Commit]
    ) -> int:
        """Restore exported versions with their revs into an empty store in a directory
        (`revkv import --keep-revs`), and the namespaces with their settings."""
        load = getattr(self._store, "load_keeping_revs", None)
        if load is None:
            raise InvalidRequest(
                "--keep-revs restores into a store in a directory; a database gives revs "
                "of its own: import without --keep-revs"
            )
        loaded: int = load(namespaces, commits)
        return loaded

    # -- housekeeping ------------------------------------------------------------------

    def stats(self) -> StoreStats:
        """The backend's figures, with the open watches among the gauges."""
        stats = self._store.stats()
        gauges = {**stats.gauges, "watchers": self.hub.watchers}
        return dataclasses.replace(stats, gauges=gauges)

    def purge(
        self,
        namespace: str,
        key: str,
        *,
        before_version: int | None = None,
        all_versions: bool = False,
        principal: Principal | None = None,
    ) -> int:
        """Remove for good the payloads of `key`'s older versions, keeping their metas
        (`purged: true`): those below `before_version`, every one (the newest too) with
        `all_versions`, and by default every version but the newest. Reading a purged
        version raises `VersionPurged`. Returns how many versions were emptied.

        It returns once the payloads are gone from memory, from the changes watchers
        read and from the store's files (see `Store.purge`). Over HTTP it needs an
        admin token: read-write on every namespace."""
        self._require_admin(principal, "purging history")
        if all_versions and before_version is not None:
            raise InvalidRequest("purge before a version, or every version: not both")
        before = before_version
        if before is None and not all_versions:
            before = self._store.head(namespace, key).version  # keep the newest
        return self._store.purge(namespace, key, before=before)

    async def apurge(
        self,
        namespace: str,
        key: str,
        *,
        before_version: int | None = None,
        all_versions: bool = False,
        principal: Principal | None = None,
    ) -> int:
        """`purge` for an event loop (it runs in a worker thread: it compacts)."""
        return await asyncio.to_thread(
            self.purge, namespace, key, before_version=before_version,
            all_versions=all_versions, principal=principal,
        )  # fmt: skip

    def compact(self, principal: Principal | None = None) -> CompactionReport:
        """Drop from disk what the state no longer needs (`Store.compact`): the embedded
        store keeps one fresh snapshot and the journal after it. Admin only over HTTP."""
        self._require_admin(principal, "compaction")
        return self._store.compact()

    async def acompact(self, principal: Principal | None = None) -> CompactionReport:
        return await asyncio.to_thread(self.compact, principal)

    def _require_admin(self, principal: Principal | None, what: str) -> None:
        """`Forbidden` unless `principal` is an admin: a read-write token for every
        namespace (`namespaces = ["*"]`); everyone is without tokens."""
        if principal is None or principal is ANONYMOUS or principal.may(None, True):
            return
        raise Forbidden(
            f'{what} needs an admin token (rights = "read-write", namespaces = ["*"]); '
            f"token {principal.name!r} is not one"
        )

    def snapshot(self) -> str | None:
        """Compact what the next start-up reads (the embedded store's snapshot); what was
        written, or None when there is nothing to do."""
        return self._store.snapshot()

    def backup_plan(self) -> BackupPlan:
        """The files of a consistent copy of the store, opened (`revkv backup`): for a
        store in a directory only. Copy them with `revkv.prevalence._backup`, then close."""
        plan = getattr(self._store, "backup_plan", None)
        if plan is None:
            raise InvalidRequest(
                "this store is in PostgreSQL: back it up with PostgreSQL's tools (pg_dump, "
                "pg_basebackup) or with `revkv export`"
            )
        result: BackupPlan = plan()
        return result

    @property
    def watchers(self) -> int:
        """How many watches are open."""
        return self.hub.watchers

    def stop_watches(self) -> None:
        """End every watch (a server shutting down), leaving the store open."""
        self.hub.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Stop the sweeper, end the watches, close the backend (writes made durable)."""
        if self._closed:
            return
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.stop()
        self.hub.close()
        self._store.close()

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _condition(expect: Expect | None) -> Condition | None:
    return Condition.of(expect)


def _token_of(principal: Principal | None) -> str:
    """The name of the token that writes, which its commits record ("": no tokens)."""
    return "" if principal is None or principal is ANONYMOUS else principal.name


def _sign(write: Put | Delete, principal: Principal) -> Put | Delete:
    if principal is ANONYMOUS or not isinstance(write, (Put, Delete)):
        return write
    author: Any = write.author  # from JSON: the store refuses a non-string itself
    if author is not None and not isinstance(author, str):
        return write
    signed = principal.author_of(author)
    return msgspec.structs.replace(write, author=signed, token=principal.name)
