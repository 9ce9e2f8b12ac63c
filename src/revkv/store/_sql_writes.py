"""One write transaction of the SQL store: lock the keys, check, take a rev, insert.

A `Batch` runs inside one SQL transaction (READ COMMITTED). It locks each key's head
row (`SELECT ... FOR UPDATE`, in key order for a transaction of several keys), checks
the writes against what it read as `revkv.store._state` does in memory, and at `finish`
takes the next rev from the counter row, inserts the commits and moves the heads. The
counter row stays locked until COMMIT (see `_sql_schema`), and `pg_notify` in the same
statement tells every server's listener once the transaction commits.

A key with no head row has nothing to lock: two transactions creating it both pass
their checks, and the second's insert of version 1 violates the primary key. The store
retries such a transaction, which then finds the head (`SqlStore._transact`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
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
_LOCK_ALL = sa.text(
    "SELECT namespace, key, version, deleted, expires FROM revkv_heads "
    "WHERE (namespace, key) IN (SELECT * FROM unnest(CAST(:ns AS text[]), "
    "CAST(:keys AS text[]))) ORDER BY namespace, key FOR UPDATE"
)
_NEXT_REV = sa.text(
    "UPDATE revkv_counter SET rev = rev + :n WHERE id = 1 "
    f"RETURNING rev, pg_notify('{CHANNEL}', rev::text)"
)
_INSERT = sa.text(
    "INSERT INTO revkv_commits (namespace, key, version, rev, pos, mtime, author, comment, "
    "expires, deleted, token, payload, doc) VALUES (:namespace, :key, :version, :rev, :pos, "
    ":mtime, :author, :comment, :expires, :deleted, :token, :payload, CAST(:doc AS jsonb))"
)
_HEAD = sa.text(
    "INSERT INTO revkv_heads (namespace, key, version, rev, deleted, expires) "
    "VALUES (:namespace, :key, :version, :rev, :deleted, :expires) "
    "ON CONFLICT (namespace, key) DO UPDATE SET version = excluded.version, "
    "rev = excluded.rev, deleted = excluded.deleted, expires = excluded.expires"
)
_KEEP = sa.text(
    "DELETE FROM revkv_commits WHERE namespace = :ns AND key = :key AND version <= :below "
    "RETURNING rev"
)
_PRUNED = sa.text("UPDATE revkv_counter SET pruned_rev = GREATEST(pruned_rev, :rev) WHERE id = 1")


def settings_of(connection: sa.Connection, name: str) -> Namespace | None:
    row = connection.execute(_SETTINGS, {"name": name}).first()
    if row is None:
        return None
    return msgspec.convert({**row[0], "name": name, "created_rev": row[1]}, Namespace)


def settings_json(settings: dict[str, Any]) -> str:
    return msgspec.json.encode(settings).decode()


def json_doc(payload: bytes) -> str | None:
    """The payload as text for a jsonb column when it is JSON that jsonb can hold."""
    first = payload.lstrip()[:1]
    if not first or first not in b'{["-0123456789tfn' or b"\\u0000" in payload:
        return None
    try:
        msgspec.json.decode(payload)
        return payload.decode("utf-8")
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None


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


class Batch:
    """The writes of one SQL transaction: one group of commits per write (a put, a
    delete, a revert, a transaction), each group with a rev of its own.

    Several writers' groups share a transaction when they wait together (the store's
    group commit): `mark` and `restore` undo a group that was refused, so the others
    still commit.
    """

    def __init__(self, connection: sa.Connection, now: float, create: bool) -> None:
        self.connection = connection
        self.now = now
        self.create = create
        self._settings: dict[str, Namespace] = {}
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

    # -- reading, under locks ---------------------------------------------------------

    def namespace(self, name: str, create: bool | None = None) -> Namespace:
        found = self._settings.get(name)
        if found is None:
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

    def lock_all(self, keys: list[tuple[str, str]]) -> None:
        """Lock the heads of `keys` in one statement, in key order (rows are locked as
        the sorted scan returns them)."""
        if not keys:
            return
        found = self.connection.execute(
            _LOCK_ALL, {"ns": [k[0] for k in keys], "keys": [k[1] for k in keys]}
        )
        for namespace, key, version, deleted, expires in found:
            self._heads[(namespace, key)] = Head(version, deleted, expires)
        for key in keys:
            self._heads.setdefault(key, Head())

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
        """Take the revs (one per group that wrote), insert the commits, move the heads,
        apply `keep_versions`; the commits of each group."""
        bounds = list(zip([0, *self.groups[:-1]], self.groups, strict=True))
        writing = sum(1 for start, end in bounds if end > start)
        if not writing:
            return [[] for _ in bounds]
        last = int(self.connection.execute(_NEXT_REV, {"n": writing}).scalar_one())
        revs: list[int] = []
        rev = last - writing
        for start, end in bounds:
            rev += end > start
            revs.extend([rev] * (end - start))
        places = [pos for start, end in bounds for pos in range(end - start)]
        params = [
            {
                "namespace": r.namespace,
                "key": r.key,
                "version": r.version,
                "rev": revs[i],
                "pos": places[i],
                "mtime": r.mtime,
                "author": r.author,
                "comment": r.comment,
                "expires": r.expires,
                "deleted": r.deleted,
                "token": r.token,
                "payload": r.payload,
                "doc": None if r.deleted else json_doc(r.payload),
            }
            for i, r in enumerate(self.rows)
        ]
        self.connection.execute(_INSERT, params)
        newest: dict[tuple[str, str], dict[str, Any]] = {
            (r.namespace, r.key): p for r, p in zip(self.rows, params, strict=True)
        }
        self.connection.execute(_HEAD, list(newest.values()))
        self._keep_versions(newest)
        commits = [
            Commit(
                r.namespace,
                r.key,
                r.version,
                revs[i],
                r.mtime,
                r.author,
                r.comment,
                r.expires,
                r.deleted,
                r.token,
                payload=r.payload,
            )
            for i, r in enumerate(self.rows)
        ]
        return [commits[start:end] for start, end in bounds]

    def _keep_versions(self, newest: dict[tuple[str, str], dict[str, Any]]) -> None:
        pruned = 0
        for (namespace, key), row in newest.items():
            keep = self.namespace(namespace).keep_versions
            if keep is not None and row["version"] > keep:
                below = row["version"] - keep
                revs = self.connection.execute(_KEEP, {"ns": namespace, "key": key, "below": below})
                pruned = max([pruned, *revs.scalars()])
        if pruned:
            self.connection.execute(_PRUNED, {"rev": pruned})
