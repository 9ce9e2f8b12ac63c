"""The PostgreSQL store: the `Store` protocol on SQL tables (`_sql_schema`), shared by
any number of `revkv serve` processes.

SQLAlchemy 2 Core over psycopg 3, pooled. Every write is one SQL transaction
(`_sql_writes.Batch`), committed before its `Pending` is handed back: on an event loop
it runs in a worker thread (the `Pending` is a future), elsewhere in the caller's thread
(`Resolved`). A serialization failure, a deadlock or two creators of one key racing
retry the transaction; a lost or refused connection is `DatabaseUnavailable` (HTTP 503
with Retry-After) and the pool connects again on the next call.

Changes reach the Service's hub from two sides: this process's own commits, and
everyone's through LISTEN/NOTIFY (`_sql_listen`). Either only says "rev R is
committed"; the hub then reads the commits after its cursor from the table, and
because revs commit in order (the counter row) none can be missed.

Reads go to the database every time (no key is cached, so a read on any server sees
every acknowledged write). On an event loop they are grouped (`_sql_batch_reads`); only
namespace settings are kept in memory, while changes to them are heard (`_sql_settings`).
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import functools
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import alembic.util
import msgspec
import sqlalchemy as sa

from revkv._model import (
    DEFAULT,
    Check,
    Commit,
    Condition,
    Delete,
    Namespace,
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
    InvalidRequest,
    KeyNotFound,
    NamespaceExists,
    NamespaceNotFound,
    StorageError,
    TxnConflict,
    VersionConflict,
)
from revkv.store import _sql_migrate, _sql_purge
from revkv.store._arguments import check_row, expiry_arg, load_row, mtime_arg
from revkv.store._namespaces import check_settings
from revkv.store._sql_batch_reads import BatchReader
from revkv.store._sql_commit import Committer, Job, JobPending, Plan
from revkv.store._sql_listen import Listener
from revkv.store._sql_reads import COMMIT_COLUMNS, SqlReads, raise_unavailable
from revkv.store._sql_select import SqlSelector
from revkv.store._sql_settings import NAMESPACE_NOTICE, SettingsCache
from revkv.store._sql_sizes import SqlSizes
from revkv.store._sql_writes import CHANNEL, Batch, settings_json, settings_of
from revkv.store.base import (
    TTL,
    CompactionReport,
    Expires,
    Pending,
    Resolved,
    StoreStats,
    Sweep,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRIES = 20
RETRY_SQLSTATES = frozenset({"40001", "40P01", "23505"})  # serialization, deadlock, unique
PRUNE_EVERY = 60.0
SWEEP_BATCH = 500


#: libpq's connection parameters revkv sets unless the URL names them (`?connect_timeout=30`):
#: a database host that swallows packets (down, partitioned, a firewall dropping them) is
#: noticed in seconds — a 503 and a reconnect — not after the kernel's TCP timeouts of
#: minutes (connect) or a quarter of an hour (a lost peer under a write).
CONNECTION_DEFAULTS = {
    "connect_timeout": "10",  # seconds for the whole connection attempt
    "keepalives": "1",  # an idle connection (LISTEN's) finds a dead peer in ~60 s
    "keepalives_idle": "30",
    "keepalives_interval": "10",
    "keepalives_count": "3",
    "tcp_user_timeout": "30000",  # ms a write may stay unacknowledged before the link is dead
}


def engine_url(url: str) -> sa.URL:
    """`postgresql://...` with psycopg 3 as the driver, whatever driver was named, and
    `CONNECTION_DEFAULTS` for what the URL does not set."""
    try:
        parsed = sa.make_url(url)
    except (sa.exc.ArgumentError, ValueError) as error:  # a port that is no number, say
        raise InvalidRequest(
            f"not a valid PostgreSQL URL: {url!r} ({error}); write postgresql://user@host:port/db"
        ) from None
    if parsed.get_backend_name() != "postgresql":
        raise InvalidRequest(f"not a PostgreSQL URL: {url!r} (postgresql://user@host/db)")
    missing = {
        name: value for name, value in CONNECTION_DEFAULTS.items() if name not in parsed.query
    }
    return parsed.set(drivername="postgresql+psycopg").update_query_dict(missing)


def check_database(url: str, *, upgrade: bool = False) -> str:
    """Bring an empty database (or, with `upgrade`, an older one) to this revkv's schema;
    `SchemaOutdated` for an older one otherwise. Returns the URL without its password."""
    engine = sa.create_engine(engine_url(url), poolclass=sa.pool.NullPool)
    try:
        with _translated():
            if upgrade:
                _sql_migrate.upgrade(engine)
            else:
                _sql_migrate.check(engine, url)
    except alembic.util.CommandError as error:
        raise StorageError(f"cannot bring the database's schema up to date: {error}") from None
    finally:
        engine.dispose()
    return sa.make_url(url).render_as_string(hide_password=True)


class SqlStore(SqlReads):
    """A store in a PostgreSQL database; thread-safe, any number of processes at once.

    `url` is a `postgresql://` URL. An empty database is given the schema; an older
    schema is refused (`SchemaOutdated`: run `revkv db upgrade`). `listen=False` skips
    the LISTEN connection (a one-shot CLI command has no watchers to wake).
    """

    def __init__(
        self,
        url: str,
        *,
        auto_create_namespaces: bool = True,
        pool_size: int = 8,
        listen: bool = True,
        create_schema: bool = True,
    ) -> None:
        self.url = url
        self.auto_create_namespaces = auto_create_namespaces
        self._engine = sa.create_engine(
            engine_url(url), pool_size=pool_size, max_overflow=pool_size, pool_recycle=3600
        )
        # reads are single statements: autocommit spares a BEGIN and a ROLLBACK each
        self._reader = self._engine.execution_options(isolation_level="AUTOCOMMIT")
        self._rev_lock = threading.Lock()
        self._settings = SettingsCache()
        try:
            self._guard(lambda: _sql_migrate.check(self._engine, url, create=create_schema))
            self._rev = self._guard(self._read_rev)
        except BaseException:
            self._engine.dispose()
            raise
        self._listeners: list[Callable[[int], None]] = []
        self._committer = Committer(self)
        self._selector = SqlSelector(self)
        self._last_prune = 0.0
        self._counters = {"sql_transactions": 0.0, "sql_retries": 0.0}
        self._listener = Listener(self, engine_url(url)) if listen else None
        self._reader_lock = threading.Lock()
        self._group_reader: BatchReader | None = None
        self._sizes = SqlSizes(self._reader)
        self._closed = False

    # -- plumbing ----------------------------------------------------------------------

    @property
    def engine(self) -> sa.Engine:
        return self._engine

    def _transact(self, work: Callable[[sa.Connection], T], *, explicit: bool = False) -> T:
        """Run `work` in one SQL transaction, retried on serialization failures,
        deadlocks and racing creators of a key (with a growing random pause).
        `explicit`: on an autocommit connection, `work` says BEGIN and COMMIT itself
        (a `Batch`: no round trip for psycopg's own BEGIN)."""
        opened = self._reader.connect if explicit else self._engine.begin
        for attempt in range(RETRIES):
            try:
                with opened() as connection:
                    result = work(connection)
                self._counters["sql_transactions"] += 1
                return result
            except sa.exc.DBAPIError as error:
                state = getattr(error.orig, "sqlstate", None)
                if state not in RETRY_SQLSTATES or attempt == RETRIES - 1:
                    raise_unavailable(error)
                self._counters["sql_retries"] += 1
                time.sleep(random.uniform(0, 0.002 * 2 ** min(attempt, 6)))
        raise AssertionError  # pragma: no cover

    def _write(self, create: bool, plan: Plan, keys: builtins.list[tuple[str, str]]) -> Any:
        """Queue a write for the next group commit (`_sql_commit`); on an event loop a
        future to await, elsewhere its result once committed."""
        job = Job(plan, keys, create)
        future = self._committer.submit(job)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return Resolved(future.result())
        return JobPending(job)

    def _batch_reader(self) -> BatchReader:
        """The group reader, started by the first read from an event loop."""
        if self._group_reader is None:
            with self._reader_lock:
                if self._group_reader is None:
                    dsn = engine_url(self.url).set(drivername="postgresql")
                    self._group_reader = BatchReader(
                        dsn.render_as_string(hide_password=False), COMMIT_COLUMNS
                    )
        return self._group_reader

    def transact_batch(self, work: Callable[[sa.Connection], T]) -> T:
        """The committer's transactions: `work` begins and commits a `Batch`."""
        return self._transact(work, explicit=True)

    def now(self) -> float:
        return time.time()

    def advance(self, rev: int) -> None:
        """Revs up to `rev` are committed (ours, or another server's by NOTIFY)."""
        with self._rev_lock:
            if rev <= self._rev:
                return
            self._rev = rev
        for listener in list(self._listeners):
            listener(rev)

    def settings_changed(self, name: str | None) -> None:
        """Another server changed `name`'s settings (None: any might have)."""
        self._settings.forget(name)

    def hearing(self, on: bool) -> None:
        """The listener's connection is up (settings may be kept) or down (not)."""
        self._settings.listening(on)

    def _read_rev(self) -> int:
        with self._reader.connect() as connection:
            return int(connection.execute(sa.text("SELECT rev FROM revkv_counter")).scalar_one())

    def refresh(self) -> int:
        """Read the committed rev from the database (after a lost notification)."""
        rev = self._guard(self._read_rev)
        self.advance(rev)
        return rev

    # -- namespaces --------------------------------------------------------------------

    def create_namespace(self, name: str, *, exist_ok: bool = False, **settings: Any) -> Namespace:
        check_namespace_name(name)
        settings = check_settings(settings)
        Namespace(name=name, **settings)  # refuses what the Struct cannot hold

        def work(connection: sa.Connection) -> Namespace:
            inserted = connection.execute(
                sa.text(
                    "INSERT INTO revkv_namespaces (name, settings, created_rev) "
                    "SELECT :name, CAST(:settings AS jsonb), rev FROM revkv_counter "
                    "ON CONFLICT (name) DO NOTHING RETURNING name"
                ),
                {"name": name, "settings": settings_json(settings)},
            ).first()
            found = settings_of(connection, name)
            assert found is not None
            if inserted is None and not exist_ok:
                raise NamespaceExists(name)
            return found

        try:
            return self._transact(work)
        finally:
            self._settings.forget(name)

    def update_namespace(self, name: str, **settings: Any) -> Namespace:
        check_namespace_name(name)
        changes = check_settings(settings)

        def work(connection: sa.Connection) -> Namespace:
            found = settings_of(connection, name)
            if found is None:
                raise NamespaceNotFound(name)
            updated = msgspec.structs.replace(found, **changes)
            stored = {
                k: v for k, v in updated.to_dict().items() if k not in ("name", "created_rev")
            }
            connection.execute(
                sa.text("UPDATE revkv_namespaces SET settings = CAST(:s AS jsonb) WHERE name = :n"),
                {"s": settings_json(stored), "n": name},
            )
            connection.execute(
                sa.text(f"SELECT pg_notify('{CHANNEL}', :notice)"),
                {"notice": NAMESPACE_NOTICE + name},
            )
            _sql_purge.apply_retention(connection, updated, time.time())
            return updated

        try:
            return self._transact(work)
        finally:
            self._settings.forget(name)

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
        check_namespace_name(namespace)
        check_key(key)
        data = check_payload(payload)
        author, comment = check_author(author, comment)
        token = check_token(token) if token else ""
        expiry = expiry_arg(ttl, expires)
        stamp = mtime_arg(mtime)

        def plan(batch: Batch) -> Callable[[builtins.list[Commit]], Commit]:
            settings = batch.namespace(namespace)
            batch.check_size(settings, len(data))
            batch.check_json(settings, data)
            batch.check(namespace, key, condition)
            end = batch.expires(settings, expiry)
            batch.write(namespace, key, data, author, comment, end, False, stamp, token)
            return _last

        written: Pending[Commit] = self._write(
            self.auto_create_namespaces, plan, [(namespace, key)]
        )
        return written

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
        check_key(key)
        author, comment = check_author(author, comment)
        token = check_token(token) if token else ""
        stamp = mtime_arg(mtime)
        by_version = condition is not None and condition.kind == "version"
        if condition is not None and condition.kind == "absent":
            raise InvalidRequest("a delete cannot expect its key to be absent")

        def plan(batch: Batch) -> Callable[[builtins.list[Commit]], Commit]:
            batch.namespace(namespace, self.auto_create_namespaces and by_version)
            _, live = batch.current(namespace, key)
            batch.check(namespace, key, condition)
            if not live and not by_version:
                raise KeyNotFound(namespace, key)
            batch.write(namespace, key, b"", author, comment, None, True, stamp, token)
            return _last

        written: Pending[Commit] = self._write(False, plan, [(namespace, key)])
        return written

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
        check_namespace_name(namespace)
        check_key(key)
        check_version(to_version, "the version to revert to")
        author, comment = check_author(author, comment or f"revert to version {to_version}")
        token = check_token(token) if token else ""

        def plan(batch: Batch) -> Callable[[builtins.list[Commit]], Commit]:
            settings = batch.namespace(namespace, False)
            batch.head(namespace, key)  # lock first: the version read below stays
            old = self._version(batch.connection, namespace, key, to_version)
            batch.check_size(settings, len(old.payload))
            batch.check(namespace, key, condition)
            end = None if old.deleted else batch.expires(settings, ["default"])
            batch.write(namespace, key, old.payload, author, comment, end, old.deleted, None, token)
            return _last

        written: Pending[Commit] = self._write(False, plan, [(namespace, key)])
        return written

    def begin_txn(
        self, checks: Sequence[Check], writes: Sequence[Put | Delete]
    ) -> Pending[TxnResult]:
        check_rows = [check_row(c) for c in checks]
        write_rows = [self._txn_row(w) for w in writes]
        if not write_rows:
            raise InvalidRequest("a transaction needs at least one write")
        keys = sorted({(r[0], r[1]) for r in check_rows} | {(r[1], r[2]) for r in write_rows})

        def plan(batch: Batch) -> Callable[[builtins.list[Commit]], TxnResult]:
            failed = []
            for namespace, key, expected in check_rows:
                actual = None
                if batch.namespace_or_none(namespace) is not None:
                    version, live = batch.current(namespace, key)
                    actual = version if live else None
                if actual != expected:
                    failed.append((namespace, key, expected, actual))
            if failed:
                raise TxnConflict(failed)
            for op, namespace, key, *rest in write_rows:
                self._txn_write(batch, op, namespace, key, rest)
            return _txn_result

        written: Pending[TxnResult] = self._write(self.auto_create_namespaces, plan, keys)
        return written

    def _txn_row(self, write: Put | Delete) -> builtins.list[Any]:
        check_namespace_name(write.namespace)
        check_key(write.key)
        author, comment = check_author(write.author, write.comment)
        token = check_token(write.token) if write.token else ""
        if isinstance(write, Delete):
            return ["delete", write.namespace, write.key, author, comment, token]
        if not isinstance(write, Put):
            raise InvalidRequest(f"a transaction write is a Put or a Delete, not {write!r}")
        data = check_payload(write.payload)
        expiry = expiry_arg(DEFAULT if write.ttl is None else write.ttl, DEFAULT)
        return ["put", write.namespace, write.key, author, comment, token, data, expiry]

    def _txn_write(
        self, batch: Batch, op: str, namespace: str, key: str, rest: builtins.list[Any]
    ) -> None:
        if op == "delete":
            author, comment, token = rest
            batch.namespace(namespace, False)
            if not batch.current(namespace, key)[1]:
                raise KeyNotFound(namespace, key)
            batch.write(namespace, key, b"", author, comment, None, True, None, token)
            return
        author, comment, token, data, expiry = rest
        settings = batch.namespace(namespace)
        batch.check_size(settings, len(data))
        batch.check_json(settings, data)
        end = batch.expires(settings, expiry)
        batch.write(namespace, key, data, author, comment, end, False, None, token)

    def load(self, commits: Iterable[Commit], batch: int = 1000) -> int:
        """Import versions as they were, a batch (one transaction, one rev) at a time;
        every key's versions are checked to continue its history first."""
        rows = [load_row(commit) for commit in commits]
        self._read(lambda connection: self._plan_load(connection, rows))
        loaded = 0
        for start in range(0, len(rows), batch):
            part = rows[start : start + batch]
            keys = sorted({(row[0], row[1]) for row in part})
            self._write(True, functools.partial(self._load, rows=part), keys).result()
            loaded += len(part)
        return loaded

    def _plan_load(
        self, connection: sa.Connection, rows: builtins.list[builtins.list[Any]]
    ) -> None:
        expected: dict[tuple[str, str], int] = {}
        for namespace, key, version, *_ in rows:
            want = expected.get((namespace, key))
            if want is None:
                found = connection.execute(
                    sa.text("SELECT version FROM revkv_heads WHERE namespace = :ns AND key = :k"),
                    {"ns": namespace, "k": key},
                ).scalar()
                want = version if found is None else found + 1
            if version != want:
                raise VersionConflict(namespace, key, version - 1, want - 1)
            expected[(namespace, key)] = version + 1

    def _load(
        self, batch: Batch, rows: builtins.list[builtins.list[Any]]
    ) -> Callable[[builtins.list[Commit]], builtins.list[Commit]]:
        from revkv.store._sql_writes import Row

        for row in rows:
            namespace, key, version = row[0], row[1], row[2]
            batch.namespace(namespace)
            head = batch.head(namespace, key)
            if head.version and version != head.version + 1:
                raise VersionConflict(namespace, key, version - 1, head.version)
            batch.append(Row(*row))  # load_row's order is Row's, the token last when set
        return _all

    def add_durable_listener(
        self,
        listener: Callable[[int], None],
        on_failure: Callable[[BaseException], None] | None = None,
    ) -> None:
        """`listener(rev)` on every commit of any server this process learns of; a
        lost database is reported per request (`DatabaseUnavailable`), not here."""
        self._listeners.append(listener)

    # -- housekeeping ------------------------------------------------------------------

    def sweep(self) -> Sweep:
        """Record due expiries (rows locked `FOR UPDATE SKIP LOCKED`, so servers sweeping
        together never write two tombstones for one expiry) and, once a minute, trim
        versions older than `keep_seconds` in SQL."""
        expired = 0
        while True:
            done = self._write(False, self._expire_due, []).result()
            expired += len(done)
            if len(done) < SWEEP_BATCH:
                break
        if time.monotonic() - self._last_prune >= PRUNE_EVERY:
            self._last_prune = time.monotonic()
            self._transact(_prune_by_age)
        next_due = self._read(
            lambda c: c.execute(
                sa.text(
                    "SELECT min(expires) FROM revkv_heads WHERE NOT deleted AND expires IS NOT NULL"
                )
            ).scalar()
        )
        return Sweep(expired, next_due)

    def _expire_due(self, batch: Batch) -> Callable[[builtins.list[Commit]], builtins.list[Commit]]:
        due = batch.connection.execute(
            sa.text(
                "SELECT h.namespace, h.key FROM revkv_heads h WHERE NOT h.deleted "
                "AND h.expires <= :now ORDER BY h.expires LIMIT :n FOR UPDATE SKIP LOCKED"
            ),
            {"now": batch.now, "n": SWEEP_BATCH},
        ).all()
        for namespace, key in due:
            if batch.head(namespace, key).expired(batch.now):
                batch.expire(namespace, key)
        return _all

    def purge(self, namespace: str, key: str, *, before: int | None = None) -> int:
        """Overwrite the rows in place (see `_sql_purge`), atomic with the key's writes."""
        check_namespace_name(namespace)
        check_key(key)
        if before is not None:
            check_version(before, "before")
        return self._transact(lambda c: _sql_purge.purge(c, namespace, key, before))

    def compact(self) -> CompactionReport:
        """VACUUM the commits table: purged and pruned payloads' dead rows become free."""
        self._guard(lambda: _sql_purge.vacuum(self._engine))
        return CompactionReport()

    def stats(self) -> StoreStats:
        pool = self._engine.pool
        gauges = {"sql_pool_checked_out": float(getattr(pool, "checkedout", lambda: 0)())}
        counters = {
            **self._counters,
            "sql_group_commits": float(self._committer.groups),
            "sql_group_commit_writes": float(self._committer.writes),
        }
        if self._group_reader is not None:
            counters["sql_group_reads"] = float(self._group_reader.batches)
            counters["sql_group_read_keys"] = float(self._group_reader.reads)
        sizes, database_bytes = self._guard(lambda: self._sizes.read(self.rev))
        gauges["database_bytes"] = float(database_bytes)
        return StoreStats("postgresql", self.rev, counters, gauges, namespaces=sizes)

    def snapshot(self) -> str | None:
        return None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._listener is not None:
            self._listener.stop(self._wake_listeners)
        self._committer.stop()
        if self._group_reader is not None:
            self._group_reader.stop()
        self._engine.dispose()

    def _wake_listeners(self) -> None:
        with self._engine.begin() as connection:
            connection.execute(sa.text(f"SELECT pg_notify('{CHANNEL}', '')"))

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _prune_by_age(connection: sa.Connection) -> None:
    """Delete versions older than their namespace's `keep_seconds`, never a head."""
    pruned = connection.execute(
        sa.text(
            "DELETE FROM revkv_commits c USING revkv_namespaces n, revkv_heads h "
            "WHERE n.name = c.namespace AND n.settings ? 'keep_seconds' "
            "AND jsonb_typeof(n.settings -> 'keep_seconds') = 'number' "
            "AND h.namespace = c.namespace AND h.key = c.key AND c.version < h.version "
            "AND c.mtime < extract(epoch FROM clock_timestamp()) "
            "- (n.settings ->> 'keep_seconds')::float8 RETURNING c.rev"
        )
    ).scalars()
    top = max(pruned, default=0)
    if top:
        connection.execute(
            sa.text("UPDATE revkv_counter SET pruned_rev = GREATEST(pruned_rev, :r)"), {"r": top}
        )


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except sa.exc.DBAPIError as error:
        raise_unavailable(error)


def _last(commits: builtins.list[Commit]) -> Commit:
    return commits[-1]


def _all(commits: builtins.list[Commit]) -> builtins.list[Commit]:
    return commits


def _txn_result(commits: builtins.list[Commit]) -> TxnResult:
    return TxnResult(commits[-1].rev, [c.meta for c in commits])
