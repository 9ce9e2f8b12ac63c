"""The Store protocol: the seam between the Service and a backend (embedded, SQL).

A backend is one class that keeps commits and answers these methods; everything else
(the watch hub, the TTL sweeper's timing, authorization, the user's conveniences) is the
Service's, once, for every backend. The words are DESIGN.md's; the rules every backend
keeps, which `revkv.testing.conformance.StoreTests` checks through the Service:

- every write is a commit with a per-key version (1, 2, ...) and a store-wide rev; a
  transaction's commits share one rev;
- a write's condition (`revkv._model.Condition`: the version the writer read, "absent"
  or "exists") is checked atomically with the write, and a failed one is a
  `VersionConflict` that changes nothing;
- a delete is a tombstone commit; history survives it; `revert` writes a new commit;
- a key past its `expires` is absent at once, before any sweep records it;
- only durable commits are ever returned or handed to `commits_after`: "durable" is
  fsynced (embedded) or in a committed transaction (SQL). A write's `Pending` resolves
  once its commit is durable, and only then may a door show it.

"Sees rev R" below means: the answer reflects every durable commit up to R, where R is
the store's `rev` when the method is called, and nothing after it.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, NamedTuple, Protocol, TypeVar, runtime_checkable

from revkv._model import (
    Check,
    Commit,
    Condition,
    Default,
    Delete,
    Meta,
    Namespace,
    Page,
    Put,
    TxnResult,
)
from revkv.prevalence._latency import HistogramSnapshot
from revkv.query._ast import EdmType, Node, OrderBy

Expires = float | datetime | None | Default
TTL = float | None | Default

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Pending(Protocol[T_co]):
    """A write the store accepted (its condition held, its rev is taken) that is not
    necessarily durable yet: wait with `result()` in a thread, or `await` it on an
    event loop. Either gives the result once durable, or raises what made it fail
    (`JournalFailed`, a lost database connection)."""

    def done(self) -> bool: ...
    def result(self) -> T_co: ...
    def __await__(self) -> Generator[Any, None, T_co]: ...


class Resolved(Generic[T]):
    """A `Pending` that is durable already: what a backend whose write returns only
    after COMMIT gives back."""

    __slots__ = ("_value",)

    def __init__(self, value: T) -> None:
        self._value = value

    def done(self) -> bool:
        return True

    def result(self) -> T:
        return self._value

    def __await__(self) -> Generator[Any, None, T]:
        yield from ()
        return self._value


# -- queries -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Column:
    """Where a query property is read from: a commit attribute (`field`: key, version,
    rev, author, comment, mtime, expires, payload, size) or else a JSON path into the
    payload (`path`). `type` is its Edm type, for backends that must cast (SQL)."""

    type: EdmType | None = None
    field: str | None = None
    path: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Select:
    """A `$filter`/`$orderby` over the newest version of each key, as parsed trees.

    `columns` maps each property name the trees may use to a `Column`: a SQL backend
    translates the trees with it. A backend that evaluates in Python builds a record per
    commit from the columns, or calls `record` when the door gives one (OData's typed
    entity view); a record of None does not fit and never matches (it is counted in
    `Selection.unreadable`). The texts are quoted in `QuerySyntaxError`s.
    """

    filter: Node | None = None
    orderby: tuple[OrderBy, ...] = ()
    columns: Mapping[str, Column] = field(default_factory=dict)
    record: Callable[[Commit], Any] | None = None
    prefix: str | None = None
    include_deleted: bool = False
    filter_text: str = ""
    orderby_text: str = ""

    def types(self) -> dict[str, EdmType | None] | None:
        """The Edm type of each column, by which every backend type-checks `filter`
        before running it (`revkv.query._types`); None when no columns are given."""
        return {name: column.type for name, column in self.columns.items()} or None


@dataclass(frozen=True, slots=True)
class Window:
    """Which part of a selection to return: after key `start_after` (keyset paging, key
    order only), then `skip` and at most `top`; `count` asks for the number matched."""

    start_after: str | None = None
    skip: int = 0
    top: int | None = None
    count: bool = True


class Selection(NamedTuple):
    """The page of a `select`, how many matched in all (when counted), and how many
    commits the record view could not read (skipped)."""

    commits: builtins.list[Commit]
    matched: int | None
    unreadable: int = 0


class Sweep(NamedTuple):
    """What one sweep step did: keys whose expiry it recorded, and when the next is due
    (epoch seconds; None when nothing will expire)."""

    expired: int
    next_due: float | None


@dataclass(frozen=True, slots=True)
class NamespaceStats:
    """The size of one namespace: keys (with any version kept, tombstones included),
    versions kept, the bytes of their payloads, and the memory they take (None where the
    backend keeps them elsewhere, as PostgreSQL does)."""

    keys: int
    versions: int
    payload_bytes: int
    memory_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class StoreStats:
    """What a backend tells about itself for `/metrics` and `revkv stats`: `counters`
    are monotonic totals, `gauges` values of the moment, each by metric name;
    `namespaces` the size of each, and `histograms` latency distributions by name
    (`journal_fsync_seconds`)."""

    backend: str
    rev: int
    counters: Mapping[str, float] = field(default_factory=dict)
    gauges: Mapping[str, float] = field(default_factory=dict)
    #: why the store cannot take writes now (a full disk, a failed journal), None if it can
    problem: str | None = None
    namespaces: Mapping[str, NamespaceStats] = field(default_factory=dict)
    histograms: Mapping[str, HistogramSnapshot] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON of `GET /stats` and `revkv stats --json`: `disk` and `fsync_seconds`
        are null for a backend without files (in memory, PostgreSQL)."""
        disk = {name: int(self.gauges[name]) for name in DISK_GAUGES if name in self.gauges}
        fsync = self.histograms.get("journal_fsync_seconds")
        return {
            "backend": self.backend,
            "rev": self.rev,
            "problem": self.problem,
            "namespaces": {
                name: {
                    "keys": ns.keys,
                    "versions": ns.versions,
                    "payload_bytes": ns.payload_bytes,
                    "memory_bytes": ns.memory_bytes,
                }
                for name, ns in self.namespaces.items()
            },
            "disk": disk or None,
            "fsync_seconds": None if fsync is None else fsync.to_dict(),
            "counters": dict(self.counters),
            "gauges": dict(self.gauges),
        }


#: the gauges that tell what a store's files take on disk (embedded, or PostgreSQL's
#: `database_bytes`)
DISK_GAUGES = (
    "journal_bytes", "journal_segments", "snapshot_bytes", "snapshots", "database_bytes",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class CompactionReport:
    """What `Store.compact` did: the snapshot it wrote (None when the backend keeps no
    files), and how many older files (snapshots, journal segments) and bytes it removed."""

    snapshot: str | None = None
    removed_files: int = 0
    removed_bytes: int = 0


# -- the protocol --------------------------------------------------------------------


@runtime_checkable
class Store(Protocol):
    """What a backend implements. Every read sees the store's `rev` as it is called;
    every method raises `InvalidRequest` (or a subclass) for malformed arguments before
    touching anything, and `NamespaceNotFound` for a namespace nobody created."""

    auto_create_namespaces: bool

    # -- namespaces --------------------------------------------------------------------

    def create_namespace(self, name: str, *, exist_ok: bool = False, **settings: Any) -> Namespace:
        """Create with `settings` (`revkv._model.SETTINGS`); `NamespaceExists` unless
        `exist_ok`, which returns the existing one unchanged (and journals nothing)."""
        ...

    def update_namespace(self, name: str, **settings: Any) -> Namespace:
        """Change the given settings; `NamespaceNotFound`, `InvalidRequest`."""
        ...

    def get_namespace(self, name: str) -> Namespace:
        """A namespace's settings; `NamespaceNotFound`."""
        ...

    def namespaces(self) -> builtins.list[Namespace]:
        """Every namespace, by name."""
        ...

    # -- reads -------------------------------------------------------------------------

    @property
    def rev(self) -> int:
        """The newest durable rev: every commit at or below it can be read."""
        ...

    def get(self, namespace: str, key: str, version: int | None = None) -> Commit:
        """The newest live version (or `version`, live or not): `KeyNotFound` when the
        key has no live version (and no `version` is asked), `VersionNotFound`."""
        ...

    def head(self, namespace: str, key: str) -> Meta:
        """The newest version's meta, a tombstone or an expired version included (what
        Rainer shows); `KeyNotFound` only for a key with no history."""
        ...

    def history(
        self, namespace: str, key: str, *, limit: int = 100, before: int | None = None
    ) -> Page:
        """Versions newest first, at most `limit`, below version `before`; `next` is the
        `before` of the next page. `KeyNotFound` for a key with no history."""
        ...

    def list(
        self,
        namespace: str,
        *,
        prefix: str | None = None,
        start_after: str | None = None,
        limit: int = 1000,
        include_deleted: bool = False,
    ) -> Page:
        """Newest versions (with payloads) in key order; `next` is the `start_after` of
        the next page. Expired keys are left out; tombstones only with `include_deleted`."""
        ...

    def count(
        self, namespace: str, *, prefix: str | None = None, include_deleted: bool = False
    ) -> int:
        """How many keys `list` would give in all."""
        ...

    def select(self, namespace: str, query: Select, window: Window) -> Selection:
        """The newest versions matching `query`, ordered (key order without `orderby`),
        windowed; `QuerySyntaxError` for a property the columns lack."""
        ...

    # -- writes ------------------------------------------------------------------------

    def begin_put(
        self,
        namespace: str,
        key: str,
        payload: bytes | str,
        *,
        condition: Condition | None = None,
        author: str = "",
        comment: str = "",
        ttl: TTL = ...,
        expires: Expires = ...,
        mtime: float | None = None,
        token: str = "",
    ) -> Pending[Commit]:
        """Commit the next version if `condition` holds (`VersionConflict` otherwise);
        `PayloadTooLarge`, `SchemaViolation`. `mtime` records a time the client vouches
        for (Rainer's) instead of the commit's. `token`, the name of the token that
        writes (or ""), is recorded with the commit (`Commit.token`), as for every write."""
        ...

    def begin_delete(
        self,
        namespace: str,
        key: str,
        *,
        condition: Condition | None = None,
        author: str = "",
        comment: str = "",
        mtime: float | None = None,
        token: str = "",
    ) -> Pending[Commit]:
        """Commit a tombstone: `KeyNotFound` without a condition when the key is not
        live; with a `version` condition it is written whatever came before (Rainer's
        empty commit)."""
        ...

    def begin_revert(
        self,
        namespace: str,
        key: str,
        to_version: int,
        *,
        condition: Condition | None = None,
        author: str = "",
        comment: str = "",
        token: str = "",
    ) -> Pending[Commit]:
        """Commit `to_version`'s payload again as the next version; `VersionNotFound`."""
        ...

    def begin_txn(
        self, checks: Sequence[Check], writes: Sequence[Put | Delete]
    ) -> Pending[TxnResult]:
        """All `writes` or none, one rev for all, if every check holds (`TxnConflict`)."""
        ...

    def purge(self, namespace: str, key: str, *, before: int | None = None) -> int:
        """Remove for good the payloads of `key`'s versions below version `before`
        (every version, the newest included, with None); their metas stay, with
        `purged` set. Returns how many versions it emptied (tombstones and versions
        purged already are left alone). `KeyNotFound` for a key with no history;
        `InvalidRequest` for a `before` past the newest version.

        Once it returns, the payloads are in no answer of the store (`get` gives the
        version with an empty payload and `purged` set, which the Service turns into
        `VersionPurged`), in no change it hands out, and in none of its files: the
        embedded store compacts before returning; a SQL store overwrites the rows
        (the database's own dead rows and WAL are its VACUUM's and archive's affair)."""
        ...

    def load(self, commits: Iterable[Commit]) -> int:
        """Import versions as they were (versions, mtimes, authors): each key's must
        continue its history without a gap (`VersionConflict` before anything is
        loaded). Returns how many were loaded; durable on return."""
        ...

    # -- changes -----------------------------------------------------------------------

    def commits_after(self, rev: int, upto: int, limit: int) -> builtins.list[Commit]:
        """Durable commits with `rev < c.rev <= upto` in rev order, about `limit` (a
        transaction is never split); `Compacted` when some are no longer kept."""
        ...

    def current_state(
        self, namespace: str | None, prefix: str | None
    ) -> tuple[int, builtins.list[Commit]]:
        """(rev, every live newest version under the filter at that rev), atomically:
        what a watcher that fell behind starts again from."""
        ...

    def add_durable_listener(
        self,
        listener: Callable[[int], None],
        on_failure: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Call `listener(rev)` whenever commits up to `rev` became durable (any thread,
        quickly), and `on_failure(error)` if the store can no longer make them so."""
        ...

    # -- housekeeping --------------------------------------------------------------------

    def sweep(self) -> Sweep:
        """One step of the TTL sweeper: record expiry tombstones that are due (author
        `revkv`, comment `expired`) and apply age retention when it is time. Writes
        nothing when nothing is due."""
        ...

    def stats(self) -> StoreStats: ...

    def snapshot(self) -> str | None:
        """Compact what start-up must read (a snapshot of the embedded store); what was
        written, or None when the backend has nothing to do."""
        ...

    def compact(self) -> CompactionReport:
        """Drop from disk what the state no longer needs: the embedded store snapshots,
        then removes every older snapshot and journal segment (see
        `revkv.prevalence.System.compact`); a SQL store asks the database to VACUUM."""
        ...

    def close(self) -> None:
        """Make everything accepted durable, then release files and connections."""
        ...


@runtime_checkable
class AsyncReads(Protocol):
    """What a backend whose reads wait on I/O (a database server) adds, so that a
    server's event loop is not blocked while they wait: `aget` is `get` as a coroutine.
    The embedded store answers from memory at once and has none of it; the Service
    calls its `get` instead (`Service.aget`)."""

    async def aget(self, namespace: str, key: str, version: int | None = None) -> Commit:
        """As `get`, awaited."""
        ...
