"""The reads of the SQL store: one statement each, on an autocommit connection of the
pool (or, for the hottest, straight through psycopg), and the change feed.

Every read sees every transaction committed before it started; a key is read from its
head row (`revkv_heads`) joined to the commit it names, so a listing is an index range
over the heads, never a scan of the history. A database that cannot be reached is
`DatabaseUnavailable` (a 503 with Retry-After), once a dropped pooled connection was
tried again.
"""

from __future__ import annotations

import asyncio
import builtins
import time
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TypeVar, cast

import msgspec
import psycopg
import sqlalchemy as sa

from revkv._model import (
    Commit,
    Meta,
    Namespace,
    Page,
    check_key,
    check_namespace_name,
    check_version,
)
from revkv.errors import (
    Compacted,
    DatabaseUnavailable,
    InvalidRequest,
    KeyNotFound,
    NamespaceNotFound,
    VersionNotFound,
)
from revkv.store._arguments import check_limit
from revkv.store._sql_batch_reads import BatchReader
from revkv.store._sql_settings import SettingsCache
from revkv.store._sql_writes import settings_of
from revkv.store.base import Select, Selection

T = TypeVar("T")

COMMIT_COLUMNS = (
    "c.namespace, c.key, c.version, c.rev, c.mtime, c.author, c.comment, c.expires, "
    "c.deleted, c.token, c.purged, c.payload"
)
META_COLUMNS = (
    "c.namespace, c.key, c.version, c.rev, c.mtime, c.author, c.comment, c.expires, c.deleted, "
    "c.token, c.purged"
)


_GET_LATEST = (
    f"SELECT {COMMIT_COLUMNS} FROM revkv_heads h JOIN revkv_commits c "
    "USING (namespace, key, version) WHERE h.namespace = %s AND h.key = %s"
)


def commit_of(row: Sequence[Any]) -> Commit:
    return Commit(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        row[6],
        row[7],
        row[8],
        row[9],
        row[10],
        bytes(row[11]),
    )


def meta_of(row: Sequence[Any]) -> Meta:
    return Meta(*row[:11])


def like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


class SqlReads:
    """The read half of `SqlStore` (`_sql.py`), which opens the engine and the selector."""

    _engine: sa.Engine
    _reader: sa.Engine
    _rev: int
    _selector: Any
    _settings: SettingsCache

    def _guard(self, work: Callable[[], T]) -> T:
        """Run `work`; a database that cannot be reached becomes `DatabaseUnavailable`."""
        try:
            return work()
        except sa.exc.DBAPIError as error:
            raise_unavailable(error)

    def _read(self, work: Callable[[sa.Connection], T]) -> T:
        """A read on an autocommit connection (each statement sees every commit made
        before it: no BEGIN and ROLLBACK around it); retried once on a connection the
        database dropped (a restart), then `DatabaseUnavailable`."""

        def attempt() -> T:
            with self._reader.connect() as connection:
                return work(connection)

        try:
            return attempt()
        except sa.exc.DBAPIError as error:
            if not error.connection_invalidated:
                raise_unavailable(error)
        return self._guard(attempt)

    def get_namespace(self, name: str) -> Namespace:
        check_namespace_name(name)
        found = self._settings.get(
            name, lambda: self._read(lambda connection: settings_of(connection, name))
        )
        if found is None:
            raise NamespaceNotFound(name)
        return found

    def kept_namespace(self, name: str) -> Namespace | None:
        """`name`'s settings if kept in memory (`_sql_settings`), else None, without
        I/O: `Service.aget_namespace` answers on the event loop when it can."""
        return self._settings.peek(name)

    def namespaces(self) -> builtins.list[Namespace]:
        def work(connection: sa.Connection) -> builtins.list[Namespace]:
            rows = connection.execute(
                sa.text("SELECT name, settings, created_rev FROM revkv_namespaces ORDER BY name")
            )
            return [
                msgspec.convert({**s, "name": n, "created_rev": r}, Namespace) for n, s, r in rows
            ]

        return self._read(work)

    def namespace_exists(self, connection: sa.Connection, name: str) -> None:
        found = connection.execute(
            sa.text("SELECT 1 FROM revkv_namespaces WHERE name = :n"), {"n": name}
        ).first()
        if found is None:
            raise NamespaceNotFound(name)

    # -- reads -------------------------------------------------------------------------

    @property
    def rev(self) -> int:
        """The newest committed rev this process knows of (its own commits, and every
        server's as their notifications arrive)."""
        return self._rev

    def get(self, namespace: str, key: str, version: int | None = None) -> Commit:
        check_namespace_name(namespace)
        check_key(key)
        if version is not None:
            check_version(version)
            return self._read(lambda connection: self._version(connection, namespace, key, version))

        rows = self._hot(_GET_LATEST, (namespace, key))
        if not rows:
            self._read(lambda connection: self.namespace_exists(connection, namespace))
            raise KeyNotFound(namespace, key)
        commit = commit_of(rows[0])
        if commit.deleted or commit.is_expired(time.time()):
            raise KeyNotFound(namespace, key)
        return commit

    async def aget(self, namespace: str, key: str, version: int | None = None) -> Commit:
        """`get` for an event loop, which it never blocks: the newest version is read
        in a group with the others awaited at the moment (`_sql_batch_reads`), the rest
        (a version, an absent key's exact error) in a worker thread."""
        check_namespace_name(namespace)
        check_key(key)
        if version is None:
            row = await self._batch_reader().latest(namespace, key)
            if row is not None:
                commit = commit_of(row)
                if commit.deleted or commit.is_expired(time.time()):
                    raise KeyNotFound(namespace, key)
                return commit
        return await asyncio.to_thread(self.get, namespace, key, version)

    def _batch_reader(self) -> BatchReader:
        raise NotImplementedError

    def _hot(self, sql: str, params: tuple[Any, ...]) -> builtins.list[tuple[Any, ...]]:
        """One prepared statement straight through psycopg on a pooled connection, past
        SQLAlchemy's result layer (a third of a GET's time); for the hottest reads."""

        def attempt() -> builtins.list[tuple[Any, ...]]:
            proxied = self._engine.raw_connection()
            try:
                raw = cast("psycopg.Connection[tuple[Any, ...]]", proxied.driver_connection)
                raw.autocommit = True  # one statement: no BEGIN, no ROLLBACK
                rows = raw.execute(sql, params, prepare=True).fetchall()
                raw.autocommit = False  # as SQLAlchemy's transactions expect it
                return rows
            except psycopg.Error:
                proxied.invalidate()
                raise
            finally:
                proxied.close()

        try:
            return attempt()
        except psycopg.OperationalError:
            pass  # a connection the database dropped (a restart): once more, afresh
        try:
            return attempt()
        except psycopg.OperationalError as error:
            raise DatabaseUnavailable(
                f"the database cannot be reached ({error}); try again shortly"
            ) from error

    def _version(self, connection: sa.Connection, namespace: str, key: str, version: int) -> Commit:
        row = connection.execute(
            sa.text(
                f"SELECT {COMMIT_COLUMNS} FROM revkv_commits c "
                "WHERE c.namespace = :ns AND c.key = :key AND c.version = :v"
            ),
            {"ns": namespace, "key": key, "v": version},
        ).first()
        if row is not None:
            return commit_of(row)
        head = connection.execute(
            sa.text("SELECT 1 FROM revkv_heads WHERE namespace = :ns AND key = :key"),
            {"ns": namespace, "key": key},
        ).first()
        if head is None:
            self.namespace_exists(connection, namespace)
            raise KeyNotFound(namespace, key)
        raise VersionNotFound(namespace, key, version)

    def head(self, namespace: str, key: str) -> Meta:
        check_namespace_name(namespace)
        check_key(key)

        def work(connection: sa.Connection) -> Meta:
            row = connection.execute(
                sa.text(
                    f"SELECT {META_COLUMNS} FROM revkv_heads h JOIN revkv_commits c "
                    "USING (namespace, key, version) WHERE h.namespace = :ns AND h.key = :key"
                ),
                {"ns": namespace, "key": key},
            ).first()
            if row is None:
                self.namespace_exists(connection, namespace)
                raise KeyNotFound(namespace, key)
            return meta_of(row)

        return self._read(work)

    def history(
        self, namespace: str, key: str, *, limit: int = 100, before: int | None = None
    ) -> Page:
        check_namespace_name(namespace)
        check_key(key)
        limit = check_limit(limit)

        def work(connection: sa.Connection) -> Page:
            rows = connection.execute(
                sa.text(
                    f"SELECT {META_COLUMNS} FROM revkv_commits c WHERE c.namespace = :ns "
                    "AND c.key = :key "
                    "AND (CAST(:before AS integer) IS NULL OR c.version < :before) "
                    "ORDER BY c.version DESC LIMIT :n"
                ),
                {"ns": namespace, "key": key, "before": before, "n": limit + 1},
            ).all()
            if not rows:  # a head is never pruned: the key has no history
                self.namespace_exists(connection, namespace)
                raise KeyNotFound(namespace, key)
            metas = [meta_of(r) for r in rows[:limit]]
            more = len(rows) > limit
            return Page(metas, metas[-1].version if more and metas else None)

        return self._read(work)

    def where(
        self, prefix: str | None, start_after: str | None, include_deleted: bool
    ) -> tuple[str, dict[str, Any]]:
        if prefix is not None and not isinstance(prefix, str):
            raise InvalidRequest("prefix must be a string")
        if start_after is not None and not isinstance(start_after, str):
            raise InvalidRequest("start_after must be a string (a key)")
        clauses = ["h.namespace = :ns"]
        params: dict[str, Any] = {}
        if prefix:
            clauses.append("h.key LIKE :prefix")
            params["prefix"] = like_prefix(prefix)
        if start_after is not None:
            clauses.append("h.key > :after")
            params["after"] = start_after
        if not include_deleted:
            clauses.append("NOT h.deleted AND (h.expires IS NULL OR h.expires > :now)")
            params["now"] = time.time()
        return " AND ".join(clauses), params

    def list(
        self,
        namespace: str,
        *,
        prefix: str | None = None,
        start_after: str | None = None,
        limit: int = 1000,
        include_deleted: bool = False,
    ) -> Page:
        check_namespace_name(namespace)
        limit = check_limit(limit)
        where, params = self.where(prefix, start_after, include_deleted)

        def work(connection: sa.Connection) -> Page:
            rows = connection.execute(
                sa.text(
                    f"SELECT {COMMIT_COLUMNS} FROM revkv_heads h JOIN revkv_commits c "
                    f"USING (namespace, key, version) WHERE {where} ORDER BY h.key LIMIT :n"
                ),
                {**params, "ns": namespace, "n": limit + 1},
            ).all()
            if not rows:
                self.namespace_exists(connection, namespace)
            items = [commit_of(r) for r in rows[:limit]]
            return Page(items, items[-1].key if len(rows) > limit else None)

        return self._read(work)

    def count(
        self, namespace: str, *, prefix: str | None = None, include_deleted: bool = False
    ) -> int:
        check_namespace_name(namespace)
        where, params = self.where(prefix, None, include_deleted)

        def work(connection: sa.Connection) -> int:
            self.namespace_exists(connection, namespace)
            found = connection.execute(
                sa.text(f"SELECT count(*) FROM revkv_heads h WHERE {where}"),
                {**params, "ns": namespace},
            )
            return int(found.scalar_one())

        return self._read(work)

    def select(self, namespace: str, query: Select, window: Any) -> Selection:
        """Compiled to SQL where the trees allow it (`revkv.query._to_sql`)."""
        check_namespace_name(namespace)
        found: Selection = self._selector.select(namespace, query, window)
        return found

    def read(self, work: Callable[[sa.Connection], T]) -> T:
        """Run a read on a connection of the pool (for the selector)."""
        return self._read(work)

    # -- changes -----------------------------------------------------------------------

    def commits_after(self, rev: int, upto: int, limit: int) -> builtins.list[Commit]:
        """Committed commits after `rev` up to `upto`, whole revs, in rev order."""

        def work(connection: sa.Connection) -> builtins.list[Commit]:
            pruned = connection.execute(
                sa.text("SELECT pruned_rev FROM revkv_counter")
            ).scalar_one()
            if rev < pruned:
                raise Compacted(rev, int(pruned))
            rows = connection.execute(
                sa.text(
                    f"SELECT {COMMIT_COLUMNS} FROM revkv_commits c WHERE c.rev > :after AND "
                    "c.rev <= LEAST(:upto, (SELECT max(rev) FROM (SELECT rev FROM revkv_commits "
                    "WHERE rev > :after AND rev <= :upto ORDER BY rev LIMIT :n) AS page)) "
                    "ORDER BY c.rev, c.pos"
                ),
                {"after": rev, "upto": upto, "n": max(1, min(limit, 1 << 31))},
            )
            return [commit_of(r) for r in rows]

        return self._read(work)

    def current_state(
        self, namespace: str | None, prefix: str | None
    ) -> tuple[int, builtins.list[Commit]]:
        def work(connection: sa.Connection) -> tuple[int, builtins.list[Commit]]:
            connection.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
            rev = int(connection.execute(sa.text("SELECT rev FROM revkv_counter")).scalar_one())
            rows = connection.execute(
                sa.text(
                    f"SELECT {COMMIT_COLUMNS} FROM revkv_heads h JOIN revkv_commits c "
                    "USING (namespace, key, version) WHERE NOT h.deleted "
                    "AND (h.expires IS NULL OR h.expires > :now) "
                    "AND (CAST(:ns AS text) IS NULL OR h.namespace = :ns) "
                    "AND (CAST(:prefix AS text) IS NULL OR h.key LIKE :prefix) "
                    "ORDER BY h.namespace, h.key"
                ),
                {
                    "now": time.time(),
                    "ns": namespace,
                    "prefix": like_prefix(prefix) if prefix else None,
                },
            )
            return rev, [commit_of(r) for r in rows]

        with self._engine.connect() as connection, connection.begin():
            return self._guard(lambda: work(connection))


def raise_unavailable(error: sa.exc.DBAPIError) -> NoReturn:
    """Raise `error`, as `DatabaseUnavailable` when the database could not be reached
    (or the connection was lost): nothing was changed, and the pool reconnects."""
    if isinstance(error, sa.exc.OperationalError) or error.connection_invalidated:
        raise DatabaseUnavailable(
            f"the database cannot be reached ({reason(error)}); try again shortly"
        ) from error
    raise error


def reason(error: sa.exc.DBAPIError) -> str:
    text = str(error.orig).strip().splitlines()
    return text[0] if text else type(error.orig).__name__
