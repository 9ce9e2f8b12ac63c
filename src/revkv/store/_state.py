"""The store's in-memory model: a plain class made durable by `revkv.prevalence`.

Its public methods that change state are the journaled commands. Each takes only plain
data (it is journaled with msgpack), reads time from `self._clock.time()` and its
revision from `self._clock.seq`, and is deterministic, so replay rebuilds the same
state. Each command has a `plan_*` twin that checks it without changing anything: the
embedded store runs the plan under the system lock first (a failing write is refused
before it is journaled), and the command runs the same plan again, so it is correct on
its own too.

Time and durability: a write sees every command before it; readers filter by
`durable_rev` themselves (see embedded.py). A key whose newest version has expired is
absent: a write to it first records the expiry tombstone, as the sweeper would have.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from revkv._model import SETTINGS, Commit, Condition, Namespace
from revkv.errors import (
    InvalidRequest,
    KeyNotFound,
    NamespaceExists,
    NamespaceNotFound,
    PayloadTooLarge,
    TxnConflict,
    VersionConflict,
    VersionNotFound,
    VersionPurged,
)
from revkv.store._changelog import DEFAULT_MAX_BYTES, ChangeLog
from revkv.store._expiry import ExpiryQueue
from revkv.store._image import capture_image, decode_image, encode_image
from revkv.store._keyspace import Keyspace

EXPIRED_AUTHOR = "revkv"
EXPIRED_COMMENT = "expired"

Expiry = list[Any]  # ["default"] | ["never"] | ["ttl", seconds] | ["at", epoch seconds]


def condition_of(version: int | None, row: list[Any] | None) -> Condition | None:
    """A journaled command's condition: `row`, or the older `version` to write."""
    if row is not None:
        return Condition.from_row(row)
    return None if version is None else Condition("version", version - 1)


class StringTable:
    """Shares equal authors and comments between commits (not part of the state).

    Bounded, so a store whose every comment is unique does not grow a second copy.
    """

    LIMIT = 100_000
    LONGEST = 256

    def __init__(self) -> None:
        self._table: dict[str, str] = {}

    def intern(self, text: str) -> str:
        found = self._table.get(text)
        if found is not None:
            return found
        if len(self._table) < self.LIMIT and len(text) <= self.LONGEST:
            self._table[text] = text
        return text


class StoreState:
    def __init__(
        self, change_log_size: int = 1_000_000, change_log_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self.namespaces: dict[str, Keyspace] = {}
        self.rev = 0
        self.log = ChangeLog(change_log_size, change_log_bytes)
        self.expiry = ExpiryQueue()
        self.durable_rev = 0  # maintained by the embedded store; not part of the state
        self.strings = StringTable()

    # -- snapshots (a fast path of the msgpack codec) --------------------------------

    def __encode_state__(self) -> bytes:
        return encode_image(self)

    def __capture_state__(self) -> Callable[[], bytes]:
        return capture_image(self)

    @classmethod
    def __decode_state__(cls, data: bytes) -> StoreState:
        return decode_image(cls, data)

    # -- what a write would do ---------------------------------------------------------

    def current(self, ks: Keyspace, key: str, now: float) -> tuple[int, Commit | None, bool]:
        """(current version, live commit or None, whether an expiry must be recorded first).

        The current version counts an unrecorded expiry as the tombstone it will become.
        """
        latest = ks.latest(key)
        if latest is None:
            return 0, None, False
        if latest.deleted:
            return latest.version, None, False
        if latest.expires is not None and latest.expires <= now:
            return latest.version + 1, None, True
        return latest.version, latest, False

    def keyspace(self, namespace: str, create: bool = False) -> Keyspace:
        ks = self.namespaces.get(namespace)
        if ks is None:
            if not create:
                raise NamespaceNotFound(namespace)
            ks = Keyspace(Namespace(name=namespace))
        return ks

    def plan_write(
        self,
        namespace: str,
        key: str,
        condition: Condition | None,
        size: int,
        create: bool,
        now: float,
    ) -> int:
        """Check a put or revert; returns the current version."""
        ks = self.keyspace(namespace, create)
        if size > ks.settings.max_payload:
            raise PayloadTooLarge(
                f"payload of {size} bytes is over the {ks.settings.max_payload}-byte limit of "
                f"namespace {namespace!r}",
                ks.settings.max_payload,
            )
        current, live, _ = self.current(ks, key, now)
        if condition is not None:
            condition.check(namespace, key, current, live is not None)
        return current

    def plan_delete(
        self,
        namespace: str,
        key: str,
        condition: Condition | None,
        now: float,
        create: bool = False,
    ) -> None:
        """A delete needs a live key, unless its condition names a version: then it is
        the tombstone after that version whatever came before (Rainer's empty commit),
        and like a put it may create its namespace."""
        by_version = condition is not None and condition.kind == "version"
        ks = self.keyspace(namespace, create and by_version)
        current, live, _ = self.current(ks, key, now)
        if condition is not None:
            if condition.kind == "absent":
                raise InvalidRequest("a delete cannot expect its key to be absent")
            condition.check(namespace, key, current, live is not None)
        if live is None and not by_version:
            raise KeyNotFound(namespace, key)

    def plan_revert(
        self,
        namespace: str,
        key: str,
        to_version: int,
        condition: Condition | None,
        now: float,
    ) -> Commit:
        ks = self.keyspace(namespace)
        old = ks.version(key, to_version)
        if old is None:
            if ks.latest(key) is None:
                raise KeyNotFound(namespace, key)
            raise VersionNotFound(namespace, key, to_version)
        if old.purged:
            raise VersionPurged(namespace, key, to_version)
        self.plan_write(namespace, key, condition, len(old.payload), False, now)
        return old

    def plan_purge(self, namespace: str, key: str, before: int | None) -> list[Commit]:
        """The versions a purge empties: below version `before` (every one with None)
        that still hold a payload (tombstones hold none). `before` past the newest
        version is refused: purging the newest version is asked for explicitly."""
        ks = self.keyspace(namespace)
        history = ks.history(key)
        if not history:
            raise KeyNotFound(namespace, key)
        newest = history[-1].version
        if before is not None and before > newest:
            raise InvalidRequest(
                f"key {key!r} has versions up to {newest}: purge before a version up to "
                f"{newest}, or every version (the newest included)"
            )
        return [
            c
            for c in history
            if (before is None or c.version < before) and not c.purged and not c.deleted
        ]

    def plan_txn(self, checks: list[list[Any]], writes: list[list[Any]], now: float) -> None:
        failed = []
        for namespace, key, expected in checks:
            ks = self.namespaces.get(namespace)
            live = self.current(ks, key, now)[1] if ks is not None else None
            actual = live.version if live is not None else None
            if actual != expected:
                failed.append((namespace, key, expected, actual))
        if failed:
            raise TxnConflict(failed)
        for op, namespace, key, *rest in writes:
            if op == "put":
                self.plan_write(namespace, key, None, len(rest[0]), bool(rest[4]), now)
            elif op != "delete":
                raise InvalidRequest(f"unknown transaction operation {op!r}")
        self._plan_txn_deletes(writes, now)

    def _plan_txn_deletes(self, writes: list[list[Any]], now: float) -> None:
        """A delete in a transaction needs the key live once the writes before it are done."""
        written: set[tuple[str, str]] = set()
        for op, namespace, key, *_rest in writes:
            if op == "delete" and (namespace, key) not in written:
                self.plan_delete(namespace, key, None, now)
            written.add((namespace, key))

    # -- commands ----------------------------------------------------------------------

    def create_namespace(self, settings: dict[str, Any], exist_ok: bool = False) -> Namespace:
        name = settings["name"]
        if name in self.namespaces:
            if exist_ok:
                return self.namespaces[name].settings
            raise NamespaceExists(name)
        ns = msgspec.convert({**settings, "created_rev": self._clock.seq}, Namespace)  # type: ignore[attr-defined]
        self.namespaces[name] = Keyspace(ns)
        return ns

    def update_namespace(self, name: str, changes: dict[str, Any]) -> Namespace:
        ks = self.keyspace(name)
        unknown = set(changes) - set(SETTINGS)
        if unknown:
            raise InvalidRequest(f"unknown namespace setting(s): {', '.join(sorted(unknown))}")
        ks.settings = msgspec.structs.replace(ks.settings, **changes)
        self._apply_retention(ks)
        return ks.settings

    def _apply_retention(self, ks: Keyspace) -> None:
        """Retention set or lowered applies to the keys already there, at once."""
        if ks.settings.keep_versions is not None:
            ks.keep_newest(ks.settings.keep_versions)
        if ks.settings.keep_seconds is not None:
            ks.prune_older_than(self._clock.time() - ks.settings.keep_seconds)  # type: ignore[attr-defined]

    def purge(self, namespace: str, key: str, before: int | None) -> int:
        """Empty the payloads of `key`'s versions below `before` (all with None), for
        good: each becomes the same commit with no payload and `purged` set, in the
        history and in the change log alike. Returns how many versions it emptied."""
        found = self.plan_purge(namespace, key, before)
        ks = self.namespaces[namespace]
        for old in found:
            new = msgspec.structs.replace(old, payload=b"", purged=True)
            ks.replace(old, new)
            self.log.replace(old, new)
        return len(found)

    def put(
        self,
        namespace: str,
        key: str,
        payload: bytes,
        version: int | None,
        author: str,
        comment: str,
        expiry: Expiry,
        create: bool,
        mtime: float | None = None,
        condition: list[Any] | None = None,
        token: str = "",
    ) -> Commit:
        """Commit the next version; `mtime` is the client's claim of when (Rainer's).

        `version` is the journal's older form of a condition (the version to write);
        newer records carry `condition` (`Condition.to_row`) and no version. `token`
        (the token that writes) is absent from records written before it existed.
        """
        now, rev = self._clock.time(), self._clock.seq  # type: ignore[attr-defined]
        cond = condition_of(version, condition)
        self.plan_write(namespace, key, cond, len(payload), create, now)
        ks = self._ensure(namespace)
        expires = self._expires(ks, expiry, now)
        return self._write(
            ks, key, payload, author, comment, expires, False, now, rev, mtime, token
        )

    def delete(
        self,
        namespace: str,
        key: str,
        version: int | None,
        author: str,
        comment: str,
        mtime: float | None = None,
        create: bool = False,
        condition: list[Any] | None = None,
        token: str = "",
    ) -> Commit:
        now, rev = self._clock.time(), self._clock.seq  # type: ignore[attr-defined]
        self.plan_delete(namespace, key, condition_of(version, condition), now, create)
        ks = self._ensure(namespace)
        return self._write(ks, key, b"", author, comment, None, True, now, rev, mtime, token)

    def revert(
        self,
        namespace: str,
        key: str,
        to_version: int,
        version: int | None,
        author: str,
        comment: str,
        expiry: Expiry,
        condition: list[Any] | None = None,
        token: str = "",
    ) -> Commit:
        now, rev = self._clock.time(), self._clock.seq  # type: ignore[attr-defined]
        old = self.plan_revert(namespace, key, to_version, condition_of(version, condition), now)
        ks = self.namespaces[namespace]
        expires = None if old.deleted else self._expires(ks, expiry, now)
        return self._write(
            ks, key, old.payload, author, comment, expires, old.deleted, now, rev, None, token
        )

    def txn(self, checks: list[list[Any]], writes: list[list[Any]]) -> list[Commit]:
        """All writes or none, one rev for all. A write: ["put", ns, key, payload, author,
        comment, expiry, create, token] or ["delete", ns, key, author, comment, token]
        (records written before tokens were recorded have no token)."""
        now, rev = self._clock.time(), self._clock.seq  # type: ignore[attr-defined]
        self.plan_txn(checks, writes, now)
        commits = []
        for op, namespace, key, *rest in writes:
            if op == "put":
                payload, author, comment, expiry, _create, *token = rest
                ks = self._ensure(namespace)
                expires = self._expires(ks, expiry, now)
                commits.append(
                    self._write(
                        ks, key, payload, author, comment, expires, False, now, rev, None, *token
                    )
                )
            else:
                author, comment, *token = rest
                ks = self.namespaces[namespace]
                commits.append(
                    self._write(ks, key, b"", author, comment, None, True, now, rev, None, *token)
                )
        return commits

    def plan_load(self, rows: list[list[Any]]) -> None:
        """Check that imported versions continue each key's history without a gap.

        A key with no history here may start at any version (an export of a namespace
        with retention starts where retention left off); after that, no gaps.
        """
        next_version: dict[tuple[str, str], int] = {}
        for namespace, key, version, *_rest in rows:
            expected = next_version.get((namespace, key))
            if expected is None:
                ks = self.namespaces.get(namespace)
                latest = ks.latest(key) if ks is not None else None
                expected = latest.version + 1 if latest is not None else version
            if version != expected:
                raise VersionConflict(namespace, key, version - 1, expected - 1)
            next_version[(namespace, key)] = version + 1

    def load(self, rows: list[list[Any]]) -> int:
        """Import versions as they were (mtime, author, comment, expiry): an export replayed.

        A row: [namespace, key, version, mtime, author, comment, expires, deleted, payload]
        and, when a token made the version, its name. The versions get this command's rev.
        Returns how many were loaded.
        """
        self.plan_load(rows)
        rev = self._clock.seq  # type: ignore[attr-defined]
        intern = self.strings.intern
        for namespace, key, version, mtime, author, comment, expires, deleted, *rest in rows:
            payload, *token = rest
            ks = self._ensure(namespace)
            commit = Commit(
                ks.settings.name, key, version, rev, mtime, intern(author), intern(comment),
                expires, deleted, intern(token[0]) if token else "", payload=payload,
            )  # fmt: skip
            self._append(ks, commit)
        return len(rows)

    def sweep(self, prune: bool = False) -> int:
        """Record the tombstones of keys that have expired; with `prune`, apply age retention.

        Returns how many keys expired.
        """
        now, rev = self._clock.time(), self._clock.seq  # type: ignore[attr-defined]
        expired = 0
        for expires, namespace, key in self.expiry.pop_due(now):
            ks = self.namespaces.get(namespace)
            latest = ks.latest(key) if ks is not None else None
            if ks is None or latest is None or latest.deleted or latest.expires != expires:
                continue  # superseded since it was queued
            self._record_expiry(ks, latest, rev)
            expired += 1
        if prune:
            for ks in self.namespaces.values():
                if ks.settings.keep_seconds is not None:
                    ks.prune_older_than(now - ks.settings.keep_seconds)
        return expired

    # -- helpers -----------------------------------------------------------------------

    def _ensure(self, namespace: str) -> Keyspace:
        ks = self.namespaces.get(namespace)
        if ks is None:
            ks = self.namespaces[namespace] = Keyspace(
                Namespace(name=namespace, created_rev=self._clock.seq)  # type: ignore[attr-defined]
            )
        return ks

    def _expires(self, ks: Keyspace, expiry: Expiry, now: float) -> float | None:
        mode = expiry[0]
        if mode == "default":
            ttl = ks.settings.default_ttl
            return None if ttl is None else now + ttl
        if mode == "never":
            return None
        if mode == "ttl":
            return now + float(expiry[1])
        return float(expiry[1])

    def _write(
        self,
        ks: Keyspace,
        key: str,
        payload: bytes,
        author: str,
        comment: str,
        expires: float | None,
        deleted: bool,
        now: float,
        rev: int,
        mtime: float | None = None,
        token: str = "",
    ) -> Commit:
        latest = ks.latest(key)
        if latest is not None and not latest.deleted and latest.is_expired(now):
            latest = self._record_expiry(ks, latest, rev)
        version = 1 if latest is None else latest.version + 1
        stamp = now if mtime is None else mtime
        intern = self.strings.intern
        commit = Commit(
            ks.settings.name,
            key,
            version,
            rev,
            stamp,
            intern(author),
            intern(comment),
            expires,
            deleted,
            intern(token),
            payload=payload,
        )
        self._append(ks, commit)
        return commit

    def _record_expiry(self, ks: Keyspace, latest: Commit, rev: int) -> Commit:
        assert latest.expires is not None
        tombstone = Commit(
            latest.namespace,
            latest.key,
            latest.version + 1,
            rev,
            max(latest.expires, latest.mtime),
            EXPIRED_AUTHOR,
            EXPIRED_COMMENT,
            None,
            True,
        )
        self._append(ks, tombstone)
        return tombstone

    def _append(self, ks: Keyspace, commit: Commit) -> None:
        ks.append(commit)
        self.log.append(commit)
        self.rev = commit.rev
        if commit.expires is not None:
            self.expiry.push(commit.expires, commit.namespace, commit.key)
