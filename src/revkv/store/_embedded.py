"""The embedded store: `StoreState` made durable by the prevalence engine, in-process.

Writes are commands: validated here, checked under the system lock (`plan_*`), then
journaled, applied and fsynced (group commit). Reads skip the lock where a single dict
lookup suffices and take it to walk sorted keys or histories. Every read is filtered by
`durable_rev`, the rev up to which the journal is on disk: a reader never sees a commit
that a crash could take back, even while its writer waits for the fsync.
"""

from __future__ import annotations

import asyncio
import builtins
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from revkv._json import parse_json
from revkv._model import (
    DEFAULT,
    Check,
    Commit,
    Condition,
    Delete,
    Meta,
    Namespace,
    Page,
    Put,
    TxnResult,
    check_author,
    check_key,
    check_namespace_name,
    check_payload,
    check_token,
    check_version,
)
from revkv.errors import (
    Compacted,
    InvalidRequest,
    KeyNotFound,
    NamespaceExists,
    NamespaceNotFound,
    RevAhead,
    VersionNotFound,
)
from revkv.prevalence import DEFAULT_SEGMENT_SIZE, System, control, open_system
from revkv.prevalence._backup import BackupPlan, plan_backup
from revkv.prevalence._disk import disk_usage
from revkv.prevalence._journal import JournalStats
from revkv.store._arguments import (
    check_limit,
    check_row,
    expiry_arg,
    live,
    load_row,
    mtime_arg,
)
from revkv.store._changelog import DEFAULT_MAX_BYTES
from revkv.store._durable import DurableWaits, JournalPending
from revkv.store._keyspace import Keyspace
from revkv.store._namespaces import check_settings
from revkv.store._restore import load_keeping_revs
from revkv.store._select import Selector
from revkv.store._state import StoreState
from revkv.store.base import (
    TTL,
    CompactionReport,
    Expires,
    NamespaceStats,
    Pending,
    Select,
    Selection,
    StoreStats,
    Sweep,
    Window,
)

PRUNE_EVERY = 60.0  # seconds between applications of age retention
SNAPSHOT_ON_CLOSE_AFTER = 10_000  # commands since the last snapshot


class EmbeddedStore:
    """A store in a directory (or in memory): the `Store` protocol on `StoreState`.

    Thread-safe. Users reach it through the Service (`revkv.open`), which adds the
    watch hub, the TTL sweeper and the conveniences of the Python API.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        durability: str = "always",
        auto_create_namespaces: bool = True,
        snapshot_every: int | None = 200_000,
        change_log_size: int = 1_000_000,
        change_log_bytes: int = DEFAULT_MAX_BYTES,
        progress: bool | None = None,
        segment_size: int | None = None,
        compact_on_snapshot: bool = False,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.auto_create_namespaces = auto_create_namespaces
        proxy = open_system(
            StoreState(change_log_size, change_log_bytes),
            self.path,
            codec="msgpack",
            validate_clock=False,  # StoreState reads time only from its command clock
            durability=durability,  # type: ignore[arg-type]
            snapshot_every=snapshot_every,
            progress=progress,
            segment_size=segment_size or DEFAULT_SEGMENT_SIZE,
            compact_on_snapshot=compact_on_snapshot,
        )
        self._system: System = control(proxy)
        self._state: StoreState = self._system.obj
        log = self._state.log  # a snapshot brings the bounds it was written with: these win
        log.capacity, log.max_bytes = change_log_size, change_log_bytes
        self._namespaces = self._state.namespaces  # the same dict for the store's life
        self._state.durable_rev = self._system.journal.durable_seq
        self._system.add_durable_listener(self._on_durable)
        self._waits: dict[asyncio.AbstractEventLoop, DurableWaits] = {}
        self._selector = Selector(self)
        self._last_prune = time.monotonic()
        #: (last rev kept, last rev set aside) of every repair that set commits aside
        self._cuts = self._system.cuts

    def _on_durable(self, seq: int) -> None:
        # a command's rev is its journal seq, so everything up to `seq` is durable
        self._state.durable_rev = max(self._state.durable_rev, seq)

    # -- the change source for watches -----------------------------------------------

    @property
    def durable_rev(self) -> int:
        return self._state.durable_rev

    @property
    def rev(self) -> int:
        """The newest durable rev."""
        return min(self._state.rev, self._state.durable_rev)

    def commits_after(self, rev: int, upto: int, limit: int) -> builtins.list[Commit]:
        log = self._state.log
        if any(kept < rev <= lost for kept, lost in self._cuts):
            raise RevAhead(rev, self.rev)  # seen before a repair set it aside: resync
        with self._system.lock:
            if log.is_compacted(rev):
                raise Compacted(rev, log.compacted_through)
            return log.since(rev, limit, min(upto, self._state.durable_rev))

    def current_state(
        self, namespace: str | None, prefix: str | None
    ) -> tuple[int, builtins.list[Commit]]:
        with self._system.lock:
            rev = self.rev  # the newest durable commit's, what a resume is checked against
            now = time.time()
            names = [namespace] if namespace is not None else sorted(self._state.namespaces)
            found = []
            for name in names:
                ks = self._state.namespaces.get(name)
                if ks is None:
                    continue
                for key in ks.scan(prefix):
                    commit = ks.visible(key, rev)
                    if commit is not None and live(commit, now):
                        found.append(commit)
            return rev, found

    # -- namespaces --------------------------------------------------------------------

    def create_namespace(self, name: str, *, exist_ok: bool = False, **settings: Any) -> Namespace:
        check_namespace_name(name)
        settings = check_settings(settings)
        with self._system.lock:  # an existing one is answered without a command (or a rev)
            existing = self._state.namespaces.get(name)
            if existing is not None:
                if exist_ok:
                    return existing.settings
                raise NamespaceExists(name)
            args = ({**settings, "name": name}, exist_ok)
            result: Namespace = self._execute("create_namespace", args)
        return result

    def update_namespace(self, name: str, **settings: Any) -> Namespace:
        self.get_namespace(name)
        result: Namespace = self._execute("update_namespace", (name, check_settings(settings)))
        return result

    def get_namespace(self, name: str) -> Namespace:
        ks = self._state.namespaces.get(name) if isinstance(name, str) else None
        if ks is None:
            check_namespace_name(name)
            raise NamespaceNotFound(name)
        return ks.settings

    def namespaces(self) -> builtins.list[Namespace]:
        with self._system.lock:
            return [ks.settings for _, ks in sorted(self._state.namespaces.items())]

    # -- reads -------------------------------------------------------------------------

    def get(self, namespace: str, key: str, version: int | None = None) -> Commit:
        """The newest live version of `key` (or `version` of it).

        The hot read: a dict lookup or two and no lock, unless the newest version is
        still waiting for its fsync; a bad namespace or key costs its check only when
        the lookup fails.
        """
        try:
            ks = self._namespaces.get(namespace)
            history = ks.keys.get(key) if ks is not None and version is None else None
        except TypeError:  # an unhashable namespace or key
            ks = history = None
        if history is None:
            return self._get_slow(namespace, key, version, ks)
        commit = history if type(history) is Commit else history[-1]
        if commit.rev > self._state.durable_rev:
            with self._system.lock:
                commit = ks.visible(key, self._state.durable_rev)
            if commit is None:
                raise KeyNotFound(namespace, key)
        if commit.deleted or (commit.expires is not None and commit.expires <= time.time()):
            raise KeyNotFound(namespace, key)
        return commit

    def _get_slow(
        self, namespace: str, key: str, version: int | None, ks: Keyspace | None
    ) -> Commit:
        if ks is None:
            self.get_namespace(namespace)
        if version is not None:
            return self._version(namespace, key, version)
        raise KeyNotFound(namespace, check_key(key))

    def _version(self, namespace: str, key: str, version: int) -> Commit:
        check_key(key)
        check_version(version)
        ks = self._state.namespaces[namespace]
        with self._system.lock:
            commit = ks.version(key, version)
            if commit is None or commit.rev > self._state.durable_rev:
                visible = ks.visible(key, self._state.durable_rev)
                if visible is None:
                    raise KeyNotFound(namespace, key)
                raise VersionNotFound(namespace, key, version)
            return commit

    def head(self, namespace: str, key: str) -> Meta:
        """The newest version's meta, a tombstone or an expired version included."""
        ks = self._state.namespaces.get(namespace) if isinstance(namespace, str) else None
        if ks is None:
            self.get_namespace(namespace)
            raise AssertionError  # pragma: no cover
        check_key(key)
        with self._system.lock:
            commit = ks.visible(key, self._state.durable_rev)
        if commit is None:
            raise KeyNotFound(namespace, key)
        return commit.meta

    def history(
        self, namespace: str, key: str, *, limit: int = 100, before: int | None = None
    ) -> Page:
        """Versions newest first; pass `page.next` as `before` for the next page."""
        check_key(key)
        limit = check_limit(limit)
        ks = self._keyspace(namespace)
        with self._system.lock:
            versions = [c for c in ks.history(key) if c.rev <= self._state.durable_rev]
        if not versions:
            raise KeyNotFound(namespace, key)
        if before is not None:
            versions = [c for c in versions if c.version < before]
        newest_first = [c.meta for c in reversed(versions[-limit:])]
        more = len(versions) > limit
        return Page(newest_first, newest_first[-1].version if more else None)

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
        limit = check_limit(limit)
        items = self._scan(namespace, prefix, start_after, include_deleted, limit + 1)
        more = len(items) > limit
        items = items[:limit]
        return Page(items, items[-1].key if more else None)

    def count(
        self, namespace: str, *, prefix: str | None = None, include_deleted: bool = False
    ) -> int:
        return len(self._scan(namespace, prefix, None, include_deleted, None))

    def _scan(
        self,
        namespace: str,
        prefix: str | None,
        start_after: str | None,
        include_deleted: bool,
        limit: int | None,
    ) -> builtins.list[Commit]:
        if prefix is not None and not isinstance(prefix, str):
            raise InvalidRequest("prefix must be a string")
        if start_after is not None and not isinstance(start_after, str):
            raise InvalidRequest("start_after must be a string (a key)")
        ks = self._keyspace(namespace)
        now = time.time()
        found: builtins.list[Commit] = []
        with self._system.lock:
            durable = self._state.durable_rev
            for key in ks.scan(prefix, start_after):
                commit = ks.visible(key, durable)
                if commit is not None and (include_deleted or live(commit, now)):
                    found.append(commit)
                    if limit is not None and len(found) >= limit:
                        break
        return found

    def _keyspace(self, namespace: str) -> Any:
        ks = self._state.namespaces.get(namespace) if isinstance(namespace, str) else None
        if ks is None:
            self.get_namespace(namespace)
        return ks

    def select(self, namespace: str, query: Select, window: Window) -> Selection:
        """Evaluated in Python with `revkv.query` (see `revkv.store._select`)."""
        return self._selector.select(namespace, query, window)

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
        ttl: TTL = DEFAULT,
        expires: Expires = DEFAULT,
        mtime: float | None = None,
        token: str = "",
    ) -> Pending[Commit]:
        """Validate, check under the lock, run in memory; durable when the pending says."""
        check_namespace_name(namespace)
        check_key(key)
        data = check_payload(payload)
        author, comment = check_author(author, comment)
        expiry = expiry_arg(ttl, expires)
        self._check_json(namespace, data)
        create = self.auto_create_namespaces
        state = self._state
        row = None if condition is None else condition.to_row()
        args: tuple[Any, ...] = (
            namespace, key, data, None, author, comment, expiry, create, mtime_arg(mtime), row
        )  # fmt: skip
        if token:  # only then: records without it replay as they always did
            args = (*args, check_token(token))
        return self._submit(
            "put",
            args,
            lambda now: state.plan_write(namespace, key, condition, len(data), create, now),
        )

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
        check_namespace_name(namespace)
        if condition is None or condition.kind != "version":
            self._keyspace(namespace)
        check_key(key)
        author, comment = check_author(author, comment)
        state = self._state
        create = self.auto_create_namespaces
        row = None if condition is None else condition.to_row()
        args: tuple[Any, ...] = (
            namespace,
            key,
            None,
            author,
            comment,
            mtime_arg(mtime),
            create,
            row,
        )
        if token:
            args = (*args, check_token(token))
        return self._submit(
            "delete", args, lambda now: state.plan_delete(namespace, key, condition, now, create)
        )

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
        self._keyspace(namespace)
        check_key(key)
        check_version(to_version, "the version to revert to")
        author, comment = check_author(author, comment or f"revert to version {to_version}")
        state = self._state
        row = None if condition is None else condition.to_row()
        args: tuple[Any, ...] = (
            namespace,
            key,
            to_version,
            None,
            author,
            comment,
            ["default"],
            row,
        )
        if token:
            args = (*args, check_token(token))
        return self._submit(
            "revert",
            args,
            lambda now: state.plan_revert(namespace, key, to_version, condition, now),
        )

    def begin_txn(
        self, checks: Sequence[Check], writes: Sequence[Put | Delete]
    ) -> Pending[TxnResult]:
        """Apply all `writes` or none, if every check holds; one rev for all of them."""
        check_rows = [check_row(c) for c in checks]
        write_rows = [self._write_row(w) for w in writes]
        if not write_rows:
            raise InvalidRequest("a transaction needs at least one write")
        state = self._state
        commits: builtins.list[Commit]
        commits, rev = self._system.execute(
            "txn",
            (check_rows, write_rows),
            {},
            precheck=lambda now: state.plan_txn(check_rows, write_rows, now),
            wait=False,
        )
        return JournalPending(TxnResult(commits[-1].rev, [c.meta for c in commits]), rev, self)

    def _write_row(self, write: Put | Delete) -> builtins.list[Any]:
        check_namespace_name(write.namespace)
        check_key(write.key)
        author, comment = check_author(write.author, write.comment)
        token = [check_token(write.token)] if write.token else []
        if isinstance(write, Delete):
            return ["delete", write.namespace, write.key, author, comment, *token]
        if not isinstance(write, Put):
            raise InvalidRequest(f"a transaction write is a Put or a Delete, not {write!r}")
        data = check_payload(write.payload)
        self._check_json(write.namespace, data)
        expiry = expiry_arg(DEFAULT if write.ttl is None else write.ttl, DEFAULT)
        return [
            "put", write.namespace, write.key, data, author, comment, expiry,
            self.auto_create_namespaces, *token,
        ]  # fmt: skip

    def _check_json(self, namespace: str, data: bytes) -> None:
        ks = self._state.namespaces.get(namespace)
        if ks is None or not ks.settings.json_objects_only:
            return
        value = parse_json(data, "Malformed input: the payload")
        if not isinstance(value, dict):
            raise InvalidRequest(
                f"Malformed input: namespace {namespace!r} takes JSON objects only"
            )

    def _execute(
        self,
        name: str,
        args: tuple[Any, ...],
        precheck: Callable[[float], object] | None = None,
    ) -> Any:
        return self._system.execute(name, args, {}, precheck=precheck)[0]

    def _submit(
        self,
        name: str,
        args: tuple[Any, ...],
        precheck: Callable[[float], object] | None = None,
    ) -> JournalPending[Any]:
        """Run a write in memory (the lock held only meanwhile), durable later."""
        result, seq = self._system.execute(name, args, {}, precheck=precheck, wait=False)
        return JournalPending(result, seq, self)

    # -- durability (see revkv.store._durable) ------------------------------------------

    def sync(self, rev: int) -> None:
        """Block until `rev` is durable, leading a group commit if nobody is."""
        self._system.journal.sync(rev)

    def flush_soon(self, rev: int) -> None:
        self._system.journal.flush_soon(rev)

    def waits(self) -> DurableWaits:
        """The durable waits of the running event loop."""
        loop = asyncio.get_running_loop()
        waits = self._waits.get(loop)
        if waits is None:
            waits = self._waits[loop] = DurableWaits(
                loop, self.durable_rev, self.add_durable_listener
            )
        return waits

    def add_durable_listener(
        self,
        listener: Callable[[int], None],
        on_failure: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Call `listener(rev)` (on the flushing thread) each time revs up to it are
        durable, and `on_failure(error)` if the journal fails instead."""
        self._system.add_durable_listener(listener)
        if on_failure is not None:
            self._system.add_failure_listener(on_failure)

    def load(self, commits: Iterable[Commit], batch: int = 1000) -> int:
        """Load exported versions as they were: versions, mtimes, authors, comments.

        Each key's versions must continue its history here without a gap (import into
        an empty store, or after the versions already present). Everything is checked
        before anything is loaded; then it loads in batches, one rev per batch. Returns
        how many versions were loaded.
        """
        rows = [load_row(commit) for commit in commits]
        with self._system.lock:
            self._state.plan_load(rows)
        loaded = 0
        for start in range(0, len(rows), batch):
            loaded += self._load(rows[start : start + batch])
        return loaded

    def load_keeping_revs(
        self, settings: Mapping[str, Mapping[str, Any]], commits: Iterable[Commit]
    ) -> int:
        """Restore an export into this empty store with the revs its versions had (see
        `revkv.store._restore`); durable on return."""
        return load_keeping_revs(self._system, self.path, settings, commits)

    def purge(self, namespace: str, key: str, *, before: int | None = None) -> int:
        """Empty the payloads, then compact so that no file holds them any more.

        The `COMPACT` marker goes down before the purge is journaled (under the lock,
        when some version still holds a payload): a crash anywhere
        after it leaves a directory whose next open finishes the compaction, so the
        payloads cannot outlive a purge that was acknowledged, nor one that was not
        (its record never became durable, and the marker's compaction drops nothing
        the state still has)."""
        check_key(key)
        if before is not None:
            check_version(before, "before")
        self._keyspace(namespace)
        state = self._state
        with self._system.lock:
            if not state.plan_purge(namespace, key, before):
                return 0  # nothing holds a payload there: nothing to journal or compact
        on_disk: builtins.list[bool] = []

        def plan(now: float) -> None:  # under the lock, just before the record is journaled
            if any(c.payload for c in state.plan_purge(namespace, key, before)):
                self._system.mark_compaction()  # else (versions imported purged) no bytes
                on_disk.append(True)

        purged: int = self._execute("purge", (namespace, key, before), plan)
        if on_disk:
            self.compact()
        return purged

    def compact(self) -> CompactionReport:
        """One snapshot and the journal after it; every older file removed."""
        done = self._system.compact()
        path = None if done.snapshot is None else str(done.snapshot)
        return CompactionReport(path, done.removed_files, done.removed_bytes)

    def _load(self, rows: builtins.list[builtins.list[Any]]) -> int:
        state = self._state
        result: int = self._execute("load", (rows,), lambda now: state.plan_load(rows))
        return result

    # -- housekeeping ----------------------------------------------------------------

    def sweep(self) -> Sweep:
        """Record the expiries that are due, and age retention once a minute; runs the
        `sweep` command only when one of them has something to do."""
        state = self._state
        due = state.expiry.next_due()
        prune = time.monotonic() - self._last_prune >= PRUNE_EVERY and any(
            ks.settings.keep_seconds is not None for ks in list(state.namespaces.values())
        )
        expired = 0
        if (due is not None and due <= time.time()) or prune:
            expired = self._execute("sweep", (prune,))
            if prune:
                self._last_prune = time.monotonic()
        return Sweep(expired, state.expiry.next_due())

    def stats(self) -> StoreStats:
        journal = self._system.journal.stats
        counters: dict[str, float] = {}
        if isinstance(journal, JournalStats):
            counters = {
                "journal_records": journal.records,
                "journal_batches": journal.batches,
                "journal_fsyncs": journal.fsyncs,
                "journal_fsync_seconds": journal.fsync_seconds,
                "journal_written_bytes": journal.bytes_written,
                "journal_segments_created": journal.segments,
            }
        gauges: dict[str, float] = {
            "namespaces": len(self._state.namespaces),
            "change_log": len(self._state.log),
            "change_log_bytes": self._state.log.size,
        }
        histograms = {}
        if isinstance(journal, JournalStats):
            failing = self._system.journal
            gauges["journal_failed"] = float(failing.failed is not None)
            gauges["journal_stalled"] = float(getattr(failing, "stalled", None) is not None)
            histograms["journal_fsync_seconds"] = journal.fsync_latency.snapshot()
        if self.path is not None:
            gauges.update(disk_usage(self.path).as_gauges())
        return StoreStats(
            "embedded", self.rev, counters, gauges, self._problem(), self._sizes(), histograms
        )

    def _sizes(self) -> dict[str, NamespaceStats]:
        """Each namespace's counts, kept up to date by its keyspace as versions come and go.

        Read without the lock, as /health reads the rest of the stats: a scan holding it
        must not delay a load balancer's probe, and a count a write behind is no harm.
        """
        spaces = sorted(self._state.namespaces.items())  # in C, under the GIL: safe
        return {
            name: NamespaceStats(len(ks.keys), ks.versions, ks.payload_bytes, ks.memory_bytes())
            for name, ks in spaces
        }

    def _problem(self) -> str | None:
        journal = self._system.journal
        if journal.failed is not None:
            return str(journal.failed)
        stalled = getattr(journal, "stalled", None)
        if stalled is not None:
            return (
                f"the journal cannot write ({stalled.strerror}); writes wait and are retried "
                f"until space is freed in {self.path}"
            )
        return None

    def snapshot(self) -> str | None:
        path = self._system.take_snapshot()
        return None if path is None else str(path)

    def backup_plan(self) -> BackupPlan:
        """The files of a consistent copy, opened: a snapshot taken now (writers wait
        only while it is captured), and the journal after it up to the durable rev.
        See `revkv.prevalence._backup`; the caller copies them and closes the plan."""
        if self.path is None:
            raise InvalidRequest(
                "a store kept in memory has no files to back up; use `revkv export`"
            )
        self._system.take_snapshot()
        return plan_backup(self.path, self._system.journal.durable_seq)

    @property
    def system(self) -> System:
        """The prevalence engine underneath (journal, snapshots): for tests and tools."""
        return self._system

    def close(self) -> None:
        """Snapshot if it speeds the next start, then close the journal."""
        if self._system.closed:
            return
        behind = self._system.journal.last_seq - max(self._system.stats.get("snapshot_seq", 0), 0)
        self._system.close(snapshot=self.path is not None and behind > SNAPSHOT_ON_CLOSE_AFTER)

    def __enter__(self) -> EmbeddedStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
