"""One write transaction of the SQL store: lock the keys, check, take a rev, insert.

A `Batch` runs inside one SQL transaction (READ COMMITTED) that it begins and commits
itself, in three round trips: `begin` says BEGIN, reads the settings of the keys'
namespaces and locks each key's head row (`SELECT ... FOR UPDATE`, in key order) in one
multi-statement query; the writes are then checked against what it read, as
`revkv.store._state` does in memory; `finish` takes the next revs from the counter row,
inserts the commits and moves the heads in one statement; `commit` says COMMIT. The
counter row stays locked until COMMIT (see `_sql_schema`), and `pg_notify` in the same
statement tells every server's listener once the transaction commits.

These three statements go straight through psycopg on the pooled connection (which is in
autocommit mode, so psycopg adds no BEGIN round trip of its own), and `finish` sends
its rows as one JSON document: SQLAlchemy's statement layer and psycopg's per-element
array quoting cost more CPU than the rest of a write (bench/sql.py). Rarer statements
(creating a namespace, an expiry's mtime, retention) go through SQLAlchemy on the same
connection, inside the same transaction.

A key with no head row has nothing to lock: two transactions creating it both pass
their checks, and the second's insert of version 1 violates the primary key. The store
retries such a transaction, which then finds the head (`SqlStore._transact`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import msgspec
import psycopg
import sqlalchemy as sa

from revkv._model import Commit, Condition, Namespace
from revkv.errors import InvalidRequest, NamespaceNotFound, PayloadTooLarge
from revkv.store._state import EXPIRED_AUTHOR, EXPIRED_COMMENT, Expiry

CHANNEL = "revkv"

_SETTINGS = sa.text("SELECT settings, created_rev FROM revkv_namespaces WHERE name = :name")
_CREATE = sa.text(
    "INSERT INTO revkv_namespaces (name, settings, created_rev) "
    "SELECT :name, CAST(:settings AS jsonb), rev FROM revkv_counter WHERE id = 1 "
    "ON CONFLICT (name) DO NOTHING"
)
_LOCK = sa.text(
    "SELECT version, deleted, expires FROM revkv_heads "
    "WHERE namespace = :ns AND key = :key FOR UPDATE"
)
_MTIME = sa.text(
    "SELECT mtime FROM revkv_commits WHERE namespace = :ns AND key = :key AND version = :v"
)
#: BEGIN, the settings of the namespaces, the locked heads in key order: one simple
#: query (parameters bound by psycopg), one round trip.
_BEGIN = (
    "BEGIN; "
    "SELECT name, settings, created_rev FROM revkv_namespaces WHERE name = ANY(%s); "
    "SELECT namespace, key, version, deleted, expires FROM revkv_heads "
    "WHERE (namespace, key) IN (SELECT * FROM unnest(%s::text[], %s::text[])) "
    "ORDER BY namespace, key FOR UPDATE"
)
#: Takes the revs, inserts every commit and moves every head in one statement (one
#: round trip, one execution however many writes the group holds). The rows travel as
#: one JSON array of `Staged` objects; each row's rev is the counter's new value less
#: the number of revs taken plus its `step`; a key's head is its last row.
_FINISH = (
    "WITH r AS (UPDATE revkv_counter SET rev = rev + %(n)s::bigint WHERE id = 1 "
    f"RETURNING rev, pg_notify('{CHANNEL}', rev::text)), "
    "u AS (SELECT * FROM jsonb_to_recordset(%(rows)s::jsonb) AS u(namespace text, "
    "key text, version integer, step bigint, pos integer, mtime float8, author text, "
    "comment text, expires float8, deleted boolean, token text, payload text, doc jsonb)), "
    "c AS (INSERT INTO revkv_commits (namespace, key, version, rev, pos, mtime, author, "
    "comment, expires, deleted, token, payload, doc) "
    "SELECT u.namespace, u.key, u.version, r.rev - %(n)s::bigint + u.step, u.pos, u.mtime, "
    "u.author, u.comment, u.expires, u.deleted, u.token, decode(u.payload, 'base64'), "
    "u.doc -> 0 FROM r, u), "
    "h AS (INSERT INTO revkv_heads (namespace, key, version, rev, deleted, expires) "
    "SELECT DISTINCT ON (u.namespace, u.key) u.namespace, u.key, u.version, "
    "r.rev - %(n)s::bigint + u.step, u.deleted, u.expires FROM r, u "
    "ORDER BY u.namespace, u.key, u.version DESC "
    "ON CONFLICT (namespace, key) DO UPDATE SET version = excluded.version, "
    "rev = excluded.rev, deleted = excluded.deleted, expires = excluded.expires) "
    "SELECT rev FROM r"
)
_KEEP = sa.text(
    "DELETE FROM revkv_commits WHERE namespace = :ns AND key = :key AND version <= :below "
    "RETURNING rev"
)
_PRUNED = sa.text("UPDATE revkv_counter SET pruned_rev = GREATEST(pruned_rev, :rev) WHERE id = 1")


def settings_of(connection: sa.Connection, name: str) -> Namespace | None:
    row = connection.execute(_SETTINGS, {"name": name}).first()
    return None if row is None else namespace_of(name, row[0], row[1])


def namespace_of(name: str, settings: dict[str, Any], created_rev: int) -> Namespace:
    return msgspec.convert({**settings, "name": name, "created_rev": created_rev}, Namespace)


def settings_json(settings: dict[str, Any]) -> str:
    return msgspec.json.encode(settings).decode()


def json_doc(payload: bytes) -> msgspec.Raw | None:
    """The payload wrapped in a JSON array when it is JSON that jsonb can hold (`_FINISH`
    stores element 0 in the doc column: a payload `null` is then jsonb null, not NULL)."""
    first = payload.lstrip()[:1]
    if not first or first not in b'{["-0123456789tfn' or b"\\u0000" in payload:
        return None
    try:
        msgspec.json.decode(payload)
        payload.decode("utf-8")
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None
    return msgspec.Raw(b"[" + payload + b"]")


class Staged(msgspec.Struct):
    """A commit as `_FINISH` reads it from its JSON parameter (the payload in base64)."""

    namespace: str
    key: str
    version: int
    step: int  # the commit's group among the groups that wrote: its rev's offset
    pos: int  # its place in its group
    mtime: float
    author: str
    comment: str
    expires: float | None
    deleted: bool
    token: str
    payload: bytes
    doc: msgspec.Raw | None


@contextlib.contextmanager
def driver_errors(connection: sa.Connection) -> Iterator[None]:
    """psycopg's errors as SQLAlchemy's (what `SqlStore._transact` retries or reports),
    the connection invalidated when it was lost."""
    try:
        yield
    except psycopg.Error as error:
        driver = connection.connection.driver_connection
        lost = driver is None or driver.closed or driver.broken
        if lost:
            connection.invalidate()
        raise sa.exc.DBAPIError.instance(
            None, None, error, psycopg.Error, connection_invalidated=lost
        ) from error


@dataclass(slots=True)
class Head:
    """A key's newest version as this transaction sees it (None version: no history)."""

    version: int = 0
    deleted: bool = True
    expires: float | None = None
    mtime: float | None = None  # read only when an expiry tombstone needs it

    def expired(self, now: float) -> bool:
        return not self.deleted and self.expires is not None and self.expires <= now


@dataclass(slots=True)
class Row:
    namespace: str
    key: str
    version: int
    mtime: float
    author: str
    comment: str
    expires: float | None
    deleted: bool
    payload: bytes
    token: str = ""  # the name of the token that wrote it, on a server with tokens

    def commit(self, rev: int) -> Commit:
        return Commit(
            self.namespace, self.key, self.version, rev, self.mtime, self.author,
            self.comment, self.expires, self.deleted, self.token, payload=self.payload,
        )  # fmt: skip


class Batch:
    """The writes of one SQL transaction: one group of commits per write (a put, a
    delete, a revert, a transaction), each group with a rev of its own.

    Several writers' groups share a transaction when they wait together (the store's
    group commit): `mark` and `restore` undo a group that was refused, so the others
    still commit.
    """

    def __init__(self, connection: sa.Connection, now: float, create: bool) -> None:
        self.connection = connection  # in autocommit mode: `begin` and `commit` say so
        self._driver = cast(
            "psycopg.Connection[tuple[Any, ...]]", connection.connection.driver_connection
        )
        self.now = now
        self.create = create
        self._settings: dict[str, Namespace] = {}
        self._read: set[str] = set()  # namespaces whose settings `begin` read (or missed)
        self._heads: dict[tuple[str, str], Head] = {}
        self.rows: list[Row] = []
        self.groups: list[int] = []  # where each group's rows end in `rows`

    def mark(self) -> tuple[int, dict[tuple[str, str], Head]]:
        return len(self.rows), dict(self._heads)

    def restore(self, mark: tuple[int, dict[tuple[str, str], Head]]) -> None:
        del self.rows[mark[0] :]
        self._heads = mark[1]

    def end_group(self) -> None:
        self.groups.append(len(self.rows))

    # -- the transaction ---------------------------------------------------------------

    def begin(self, keys: list[tuple[str, str]]) -> None:
        """BEGIN; read the settings of the namespaces of `keys` and lock their heads, in
        key order (rows are locked as the sorted scan returns them): one round trip."""
        names = sorted({namespace for namespace, _ in keys})
        with driver_errors(self.connection):
            if not keys:
                self._driver.execute("BEGIN")
                return
            cursor = psycopg.ClientCursor(self._driver)
            cursor.execute(_BEGIN, (names, [k[0] for k in keys], [k[1] for k in keys]))
            cursor.nextset()
            for name, settings, created_rev in cursor.fetchall():
                self._settings[name] = namespace_of(name, settings, created_rev)
            cursor.nextset()
            for namespace, key, version, deleted, expires in cursor.fetchall():
                self._heads[(namespace, key)] = Head(version, deleted, expires)
        self._read.update(names)
        for key in keys:
            self._heads.setdefault(key, Head())

    def commit(self) -> None:
        with driver_errors(self.connection):
            done = self._driver.execute("COMMIT").statusmessage
        if done != "COMMIT":  # a failed transaction's COMMIT is a ROLLBACK
            raise AssertionError(f"COMMIT answered {done!r}")

    def rollback(self) -> None:
        """Roll back what `begin` began, on the way out of a failed or refused batch: a
        connection that cannot say ROLLBACK is dropped rather than reused, and the
        batch's own error is the one reported."""
        try:
            self._driver.execute("ROLLBACK")
        except psycopg.Error:
            self.connection.invalidate()

    # -- reading, under locks ---------------------------------------------------------

    def namespace(self, name: str, create: bool | None = None) -> Namespace:
        found = self._settings.get(name)
        if found is None:
            if name not in self._read:
                found = settings_of(self.connection, name)
            if found is None and (self.create if create is None else create):
                self.connection.execute(_CREATE, {"name": name, "settings": "{}"})
                found = settings_of(self.connection, name)
            if found is None:
                raise NamespaceNotFound(name)
            self._settings[name] = found
        return found

    def namespace_or_none(self, name: str) -> Namespace | None:
        try:
            return self.namespace(name, False)
        except NamespaceNotFound:
            return None

    def head(self, namespace: str, key: str) -> Head:
        """The key's head, locked for this transaction."""
        found = self._heads.get((namespace, key))
        if found is None:
            row = self.connection.execute(_LOCK, {"ns": namespace, "key": key}).first()
            found = Head() if row is None else Head(row[0], row[1], row[2])
            self._heads[(namespace, key)] = found
        return found

    def current(self, namespace: str, key: str) -> tuple[int, bool]:
        """(current version, live): an unrecorded expiry counts as its tombstone."""
        head = self.head(namespace, key)
        if head.expired(self.now):
            return head.version + 1, False
        return head.version, not head.deleted

    def check(self, namespace: str, key: str, condition: Condition | None) -> int:
        current, live = self.current(namespace, key)
        if condition is not None:
            condition.check(namespace, key, current, live)
        return current

    def check_size(self, settings: Namespace, size: int) -> None:
        if size > settings.max_payload:
            raise PayloadTooLarge(
                f"payload of {size} bytes is over the {settings.max_payload}-byte limit of "
                f"namespace {settings.name!r}",
                settings.max_payload,
            )

    def check_json(self, settings: Namespace, payload: bytes) -> None:
        if not settings.json_objects_only:
            return
        try:
            value = msgspec.json.decode(payload)
        except msgspec.DecodeError as exc:
            raise InvalidRequest(f"Malformed input: {exc}") from exc
        if not isinstance(value, dict):
            raise InvalidRequest(
                f"Malformed input: namespace {settings.name!r} takes JSON objects only"
            )

    def expires(self, settings: Namespace, expiry: Expiry) -> float | None:
        mode = expiry[0]
        if mode == "default":
            ttl = settings.default_ttl
            return None if ttl is None else self.now + ttl
        if mode == "never":
            return None
        if mode == "ttl":
            return self.now + float(expiry[1])
        return float(expiry[1])

    # -- writing -----------------------------------------------------------------------

    def write(
        self,
        namespace: str,
        key: str,
        payload: bytes,
        author: str,
        comment: str,
        expires: float | None,
        deleted: bool,
        mtime: float | None = None,
        token: str = "",
    ) -> Row:
        """Add the key's next version (its expiry tombstone first, when unrecorded)."""
        if self.head(namespace, key).expired(self.now):
            self.expire(namespace, key)
        head = self.head(namespace, key)  # the tombstone's, when one was just recorded
        row = Row(
            namespace, key, head.version + 1, self.now if mtime is None else mtime,
            author, comment, expires, deleted, payload, token,
        )  # fmt: skip
        return self.append(row)

    def expire(self, namespace: str, key: str) -> Row:
        head = self.head(namespace, key)
        assert head.expires is not None
        mtime = head.mtime
        if mtime is None:
            found = self.connection.execute(
                _MTIME, {"ns": namespace, "key": key, "v": head.version}
            ).scalar_one()
            mtime = float(found)
        stamp = max(head.expires, mtime)
        tomb = Row(
            namespace, key, head.version + 1, stamp, EXPIRED_AUTHOR, EXPIRED_COMMENT,
            None, True, b"",
        )  # fmt: skip
        return self.append(tomb)

    def append(self, row: Row) -> Row:
        self.rows.append(row)  # a new Head, never changed in place: `mark` keeps the old
        self._heads[(row.namespace, row.key)] = Head(
            row.version, row.deleted, row.expires, row.mtime
        )
        return row

    def finish(self) -> list[list[Commit]]:
        """Take the revs (one per group that wrote), insert the commits, move the heads
        (`_FINISH`), apply `keep_versions`; the commits of each group."""
        bounds = list(zip([0, *self.groups[:-1]], self.groups, strict=True))
        writing = sum(1 for start, end in bounds if end > start)
        if not writing:
            return [[] for _ in bounds]
        steps: list[int] = []
        places: list[int] = []
        step = 0
        for start, end in bounds:
            step += end > start
            steps.extend([step] * (end - start))
            places.extend(range(end - start))
        rows = self.rows
        staged = [
            Staged(
                r.namespace, r.key, r.version, step, pos, r.mtime, r.author, r.comment,
                r.expires, r.deleted, r.token, r.payload,
                None if r.deleted else json_doc(r.payload),
            )
            for r, step, pos in zip(rows, steps, places, strict=True)
        ]  # fmt: skip
        params = {"n": writing, "rows": msgspec.json.encode(staged).decode()}
        with driver_errors(self.connection):
            found = self._driver.execute(_FINISH, params).fetchone()
        assert found is not None
        first = int(found[0]) - writing
        commits = [r.commit(first + step) for r, step in zip(rows, steps, strict=True)]
        self._keep_versions(list({(r.namespace, r.key): r for r in rows}.values()))
        return [commits[start:end] for start, end in bounds]

    def _keep_versions(self, heads: list[Row]) -> None:
        pruned = 0
        for row in heads:
            keep = self.namespace(row.namespace).keep_versions
            if keep is not None and row.version > keep:
                below = row.version - keep
                revs = self.connection.execute(
                    _KEEP, {"ns": row.namespace, "key": row.key, "below": below}
                )
                pruned = max([pruned, *revs.scalars()])
        if pruned:
            self.connection.execute(_PRUNED, {"rev": pruned})
