"""The one error hierarchy of revkv.

Every door maps these classes to its transport in one table resolved by class hierarchy
(HTTP statuses in ``revkv.http._errors``, CLI exit codes in ``revkv.cli._output``; AMQP
return codes will use the same shape), so a new subclass inherits the right answer.
Each message says what was wrong and what to do about it. Each class declares the
attributes it carries in ``fields``: they travel on the wire next to the message, and
``from_fields`` makes the same error again on the other side (``revkv.Client``).

    RevkvError
    ├── NotFound (also KeyError)
    │   ├── KeyNotFound             .namespace .key
    │   ├── VersionNotFound         .namespace .key .version
    │   │   └── VersionPurged       (its payload was purged; HTTP 410 Gone)
    │   ├── NamespaceNotFound       .namespace
    │   └── Unroutable              .target (no service bound to that routing key)
    ├── Conflict
    │   ├── VersionConflict         .namespace .key .expected .current_version .exists
    │   │   └── PreconditionFailed  (the same, asked as HTTP If-Match / If-None-Match)
    │   ├── TxnConflict             .failed (the checks that did not hold)
    │   └── NamespaceExists         .namespace
    ├── InvalidRequest (also ValueError)
    │   ├── InvalidKey
    │   ├── InvalidName
    │   ├── InvalidVersion
    │   ├── PayloadTooLarge         .limit
    │   ├── SchemaViolation
    │   ├── QuerySyntaxError        .expression .position
    │   ├── MalformedMessage        (a message body that cannot be decoded)
    │   ├── UnsupportedOperation    .operation
    │   └── InvalidValue            (a value the endpoint cannot take or calibrate)
    ├── Compacted                   .requested_rev .oldest_rev
    │   └── RevAhead                .requested_rev .current_rev (a resume point ahead)
    ├── Unauthorized
    ├── Forbidden
    │   └── Locked                  .target (a dripline endpoint locked out)
    ├── Unavailable                 (try again later, or elsewhere)
    │   ├── ReadOnly                .primary
    │   │   └── ReadOnlySystem      (also a PrevalenceError)
    │   ├── Busy                    .retry_after
    │   ├── DatabaseUnavailable     .retry_after (PostgreSQL down or unreachable)
    │   ├── RevNotReached           .requested_rev .current_rev .retry_after (a min rev)
    │   ├── Unreachable             .url (also ConnectionError)
    │   │   └── NotRevkvServer      (it answers, but as a web page or another service does)
    │   └── TimedOut                .target .timeout (no reply came in time)
    ├── PrevalenceError             (the object-prevalence engine)
    │   ├── ClockMisuse             .method
    │   └── ReplayDiverged          .seq
    └── StorageError
        ├── DirectoryLocked         .path .pid
        ├── JournalCorrupted        .path .offset
        ├── SnapshotCorrupted       .path
        ├── ManifestCorrupted       .path (SYSTEM, which names the codec, is damaged)
        ├── JournalMissing          .path (a journal segment that should be there is not)
        ├── SchemaOutdated          .found .needed (run `revkv db upgrade`)
        └── JournalFailed           (a write or fsync failed; reopen)

Compare-and-set everywhere names the version the caller *read* (``expect=N``, HTTP
``If-Match: "N"``; 0 or ``"absent"`` for create-only), as etcd and Consul do; a
``VersionConflict`` says which version is current and what to pass instead.

This module imports nothing of revkv.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

__all__ = [
    "Busy",
    "ClockMisuse",
    "Compacted",
    "Conflict",
    "DatabaseUnavailable",
    "DirectoryLocked",
    "Forbidden",
    "InvalidKey",
    "InvalidName",
    "InvalidRequest",
    "InvalidValue",
    "InvalidVersion",
    "JournalCorrupted",
    "JournalFailed",
    "JournalMissing",
    "KeyNotFound",
    "Locked",
    "MalformedMessage",
    "ManifestCorrupted",
    "NamespaceExists",
    "NamespaceNotFound",
    "NotFound",
    "NotRevkvServer",
    "PayloadTooLarge",
    "PreconditionFailed",
    "PrevalenceError",
    "QuerySyntaxError",
    "ReadOnly",
    "ReadOnlySystem",
    "ReplayDiverged",
    "RevAhead",
    "RevNotReached",
    "RevkvError",
    "SchemaOutdated",
    "SchemaViolation",
    "SnapshotCorrupted",
    "StorageError",
    "TimedOut",
    "TxnConflict",
    "Unauthorized",
    "Unavailable",
    "Unreachable",
    "Unroutable",
    "UnsupportedOperation",
    "VersionConflict",
    "VersionNotFound",
    "VersionPurged",
]

#: What a compare-and-set expected: the version read (0: no history at all, for
#: Rainer's wire), "absent" (create only) or "exists" (any live version).
Expected = int | str


class RevkvError(Exception):
    """Base of every error revkv raises on purpose."""

    #: The attributes this class carries on the wire, besides its message.
    fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def wire_fields(self) -> dict[str, Any]:
        """The declared fields and their values, for a transport to send."""
        return {name: getattr(self, name, None) for name in type(self).fields}

    @classmethod
    def from_fields(cls, message: str, data: dict[str, Any]) -> RevkvError:
        """The error again, from a message and fields a transport carried (missing
        fields are None): the inverse of ``message`` and ``wire_fields``."""
        error = cls.__new__(cls)
        RevkvError.__init__(error, message)
        for name in cls.fields:
            setattr(error, name, data.get(name))
        return error


class NotFound(RevkvError, KeyError):
    """The thing asked for does not exist (also a ``KeyError``, so ``except KeyError`` works)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.message


class KeyNotFound(NotFound):
    """The key has no live version: never written, deleted, or expired."""

    fields = ("namespace", "key")

    def __init__(self, namespace: str, key: str) -> None:
        super().__init__(f"Key not found: {key!r} in namespace {namespace!r}")
        self.namespace = namespace
        self.key = key


class VersionNotFound(NotFound):
    """The key exists but not at that version (never reached, or removed by retention)."""

    fields = ("namespace", "key", "version")

    def __init__(self, namespace: str, key: str, version: int) -> None:
        super().__init__(
            f"Version {version} of key {key!r} in namespace {namespace!r} does not exist "
            "(or was removed by the namespace's history retention)"
        )
        self.namespace = namespace
        self.key = key
        self.version = version


class VersionPurged(VersionNotFound):
    """The version's payload was removed for good (`revkv purge`); its meta remains in
    the history (`purged: true`). HTTP answers 410 Gone: it existed and never will again."""

    def __init__(self, namespace: str, key: str, version: int) -> None:
        RevkvError.__init__(
            self,
            f"Version {version} of key {key!r} in namespace {namespace!r} was purged: its "
            "payload is gone for good; its history (author, comment, time) remains",
        )
        self.namespace = namespace
        self.key = key
        self.version = version


class NamespaceNotFound(NotFound):
    """Reading (or, without auto-creation, writing) a namespace nobody created."""

    fields = ("namespace",)

    def __init__(self, namespace: str) -> None:
        super().__init__(
            f"Namespace {namespace!r} does not exist; create it first "
            "(or enable auto_create_namespaces)"
        )
        self.namespace = namespace


class Conflict(RevkvError):
    """The write was well-formed but the state it expected is not the state that is."""


def _describe(expected: Expected) -> str:
    if expected in ("absent", 0):
        return "it absent"
    if expected == "exists":
        return "it to exist"
    return f"version {expected}"


class VersionConflict(Conflict):
    """A compare-and-set did not hold: the key is not at the version the writer read.

    ``expected`` is what the writer passed (a version, "absent" or "exists");
    ``current_version`` the newest version, tombstones and an expiry not yet recorded
    included (0 when the key has no history); ``exists`` whether that version is live.
    The message says what to pass instead.
    """

    fields = ("namespace", "key", "expected", "current_version", "exists")

    def __init__(
        self,
        namespace: str,
        key: str,
        expected: Expected,
        current_version: int,
        exists: bool = True,
    ) -> None:
        if exists:
            now = f"it is at version {current_version}"
            hint = f"read it again and pass expect={current_version}"
        else:
            gone = f" (version {current_version} deleted or expired it)" if current_version else ""
            now = f"it is absent{gone}"
            hint = "pass expect=0 to create it"
        super().__init__(
            f"Version conflict on {key!r} in {namespace!r}: you expected "
            f"{_describe(expected)} but {now}; {hint}"
        )
        self.namespace = namespace
        self.key = key
        self.expected = expected
        self.current_version = current_version
        self.exists = exists

    @property
    def next_version(self) -> int:
        """The version the next commit of this key will have."""
        return self.current_version + 1


class PreconditionFailed(VersionConflict):
    """A ``VersionConflict`` whose condition was asked as an HTTP precondition
    (``If-Match``, ``If-None-Match``): the same error, answered 412 instead of 409."""

    @classmethod
    def of(cls, conflict: VersionConflict) -> PreconditionFailed:
        error = cls.__new__(cls)
        RevkvError.__init__(error, conflict.message)
        for name in VersionConflict.fields:
            setattr(error, name, getattr(conflict, name))
        return error


class TxnConflict(Conflict):
    """A transaction's checks did not hold; nothing was written.

    ``failed`` lists (namespace, key, expected version or None for absent, actual
    version or None for absent) of each check that did not hold.
    """

    fields = ("failed",)

    def __init__(self, failed: list[tuple[str, str, int | None, int | None]]) -> None:
        parts = ", ".join(
            f"{ns}/{key} expected {exp if exp is not None else 'absent'} "
            f"but is {cur if cur is not None else 'absent'}"
            for ns, key, exp, cur in failed
        )
        super().__init__(f"Transaction not applied, its checks failed: {parts}")
        self.failed = failed

    def wire_fields(self) -> dict[str, Any]:
        return {
            "failed": [
                {"namespace": ns, "key": k, "expected": e, "actual": a}
                for ns, k, e, a in self.failed
            ]
        }

    @classmethod
    def from_fields(cls, message: str, data: dict[str, Any]) -> RevkvError:
        error = super().from_fields(message, data)
        rows = data.get("failed") or []
        error.failed = [  # type: ignore[attr-defined]
            (r.get("namespace"), r.get("key"), r.get("expected"), r.get("actual")) for r in rows
        ]
        return error


class NamespaceExists(Conflict):
    """Creating a namespace that is already there (pass ``exist_ok=True`` to accept it)."""

    fields = ("namespace",)

    def __init__(self, namespace: str) -> None:
        super().__init__(f"Namespace {namespace!r} already exists")
        self.namespace = namespace


class InvalidRequest(RevkvError, ValueError):
    """The request itself is malformed; retrying it unchanged cannot succeed."""


class InvalidKey(InvalidRequest):
    """A key that is empty, too long, or holds a control character."""


class InvalidName(InvalidRequest):
    """A namespace name outside ``[A-Za-z][A-Za-z0-9_.-]{0,63}``."""


class InvalidVersion(InvalidRequest):
    """A version (or ``expect=``) that is not a whole number in range."""


class PayloadTooLarge(InvalidRequest):
    """A payload (or request body) over the namespace's ``max_payload``."""

    fields = ("limit",)

    def __init__(self, message: str, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


class SchemaViolation(InvalidRequest):
    """A value that does not fit the namespace's schema (or an OData entity type)."""


class QuerySyntaxError(InvalidRequest):
    """A $filter or $orderby expression could not be parsed; ``position`` is 0-based."""

    fields = ("expression", "position")

    def __init__(self, message: str, expression: str, position: int) -> None:
        super().__init__(f"{message} at position {position} in {expression!r}")
        self.expression = expression
        self.position = position


class Compacted(RevkvError):
    """A watcher asked for changes older than the retained history."""

    fields: ClassVar[tuple[str, ...]] = ("requested_rev", "oldest_rev")

    def __init__(self, requested_rev: int, oldest_rev: int) -> None:
        super().__init__(
            f"Changes since rev {requested_rev} are no longer retained; the oldest rev you can "
            f"resume from is {oldest_rev} (or watch with resync=True to get the current state)"
        )
        self.requested_rev = requested_rev
        self.oldest_rev = oldest_rev


class RevAhead(Compacted):
    """A watcher asked for changes after a rev this store has not reached.

    It saw that rev elsewhere (another store, a replica ahead of this one) or before a
    repair or a restore from a backup set the newest commits aside: what it holds may
    include commits this store no longer has, so resuming would silently skip them. A
    ``Compacted`` (HTTP 410) on purpose: every client that resyncs on one resyncs on this.
    """

    fields = ("requested_rev", "current_rev", "oldest_rev")

    def __init__(self, requested_rev: int, current_rev: int) -> None:
        RevkvError.__init__(
            self,
            f"Rev {requested_rev} is ahead of this store, whose current rev is {current_rev} "
            "(it was repaired or restored from a backup, or you saw that rev on another "
            "store); resync: read the current state again (watch with resync=True), then "
            f"resume from rev {current_rev}",
        )
        self.requested_rev = requested_rev
        self.current_rev = current_rev
        self.oldest_rev = current_rev


class Unauthorized(RevkvError):
    """No token, or a token the server does not know."""


class Forbidden(RevkvError):
    """A known token without the right to read or write that namespace."""


class Unavailable(RevkvError):
    """The store cannot do this now; the same request may succeed later or elsewhere."""


class ReadOnly(Unavailable):
    """A write sent to a read-only replica; ``primary`` is where writes go, when known."""

    fields = ("primary",)

    def __init__(self, message: str, primary: str | None = None) -> None:
        if primary:
            message = f"{message} (the primary is {primary})"
        super().__init__(message)
        self.primary = primary


class Busy(Unavailable):
    """The server is at a limit it was configured with; ``retry_after`` is in seconds."""

    fields = ("retry_after",)

    def __init__(self, message: str, retry_after: float = 5.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DatabaseUnavailable(Unavailable):
    """The database (PostgreSQL) is down or the connection to it was lost; nothing was
    written. The server reconnects by itself: retry after ``retry_after`` seconds."""

    fields = ("retry_after",)

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RevNotReached(Unavailable):
    """A read asked for a minimum rev (``X-Revkv-Min-Rev``, ``min_rev=``) that this
    server's view had not reached when its wait (``min_rev_wait``) ran out.

    The rev was made through another server sharing the database and has not reached
    this one yet (retry after ``retry_after`` seconds, or read where it was written), or
    it was never made on this store at all (a rev from another store, a typo): then no
    wait will ever reach it.
    """

    fields = ("requested_rev", "current_rev", "retry_after")

    def __init__(self, requested_rev: int, current_rev: int, waited: float) -> None:
        super().__init__(
            f"rev {requested_rev} has not reached this server, whose rev is {current_rev} "
            f"after waiting {waited:g} s: retry shortly, or read from the server that made "
            f"rev {requested_rev}; a rev from another store is never reached here"
        )
        self.requested_rev = requested_rev
        self.current_rev = current_rev
        self.retry_after = 1.0


class Unreachable(Unavailable, ConnectionError):
    """The client could not reach the server, or lost it before an answer came."""

    fields = ("url",)

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot reach {url}: {reason}")
        self.url = url
        self.reason = reason


class NotRevkvServer(Unreachable):
    """The URL answers, but not as a revkv server does: a web page, another HTTP service,
    a proxy's error page, or a path of revkv's own (`/kv`) given as the server's URL.

    An ``Unreachable`` (the revkv server was not reached), so code that handles one
    handles both; its message says what answered and which URL to give instead.
    """

    def __init__(self, url: str, reason: str, base: str = "http://127.0.0.1:8080") -> None:
        Unavailable.__init__(
            self,
            f"{url} is not a revkv server: {reason}; give the server's base URL, e.g. {base}",
        )
        self.url = url
        self.reason = reason


class TimedOut(Unavailable):
    """No reply came in time (a dripline request: is the service running?)."""

    fields = ("target", "timeout")

    def __init__(self, target: str, timeout: float) -> None:
        super().__init__(
            f"no reply from {target!r} within {timeout:g} s: is a service serving it running "
            "and connected to this broker? (or give it longer with --timeout)"
        )
        self.target = target
        self.timeout = timeout


class Locked(Forbidden):
    """A write to a locked-out dripline service without its lockout key."""

    fields = ("target",)

    def __init__(self, message: str, target: str | None = None) -> None:
        super().__init__(message)
        self.target = target


class Unroutable(NotFound):
    """No queue is bound to a request's routing key: no service serves that target."""

    fields = ("target",)

    def __init__(self, target: str) -> None:
        super().__init__(
            f"no service serves {target!r} on this broker (the request was unroutable): "
            "check the name, and that its service is running"
        )
        self.target = target


class MalformedMessage(InvalidRequest):
    """A message whose body cannot be decoded, or lacks what its kind requires."""


class UnsupportedOperation(InvalidRequest):
    """An operation the target does not offer (a dripline msgop or command it lacks)."""

    fields = ("operation",)

    def __init__(self, message: str, operation: str | None = None) -> None:
        super().__init__(message)
        self.operation = operation


class InvalidValue(InvalidRequest):
    """A value the target cannot take, map or calibrate."""


class PrevalenceError(RevkvError):
    """Misuse of, or divergence in, an object-prevalence system."""


class ClockMisuse(PrevalenceError):
    """A command read the wall clock, which replay cannot reproduce."""

    fields = ("method",)

    def __init__(self, method: str, call: str) -> None:
        super().__init__(
            f"{method} calls {call} directly, which gives a different time when the journal is "
            f"replayed; use self._clock.now(), .utcnow(), .today() or .time() instead "
            "(or open the system with validate_clock=False)"
        )
        self.method = method
        self.call = call


class ReplayDiverged(PrevalenceError):
    """Replaying a journaled command gave another outcome than its first execution."""

    fields = ("seq",)

    def __init__(self, seq: int, command: str, error: BaseException) -> None:
        super().__init__(
            f"Replaying command #{seq} ({command}) raised {type(error).__name__}: {error}, "
            "but it did not raise when it was first executed: the code of the system changed "
            "in a way that is not compatible with its journal, or it is not deterministic"
        )
        self.seq = seq
        self.command = command


class ReadOnlySystem(ReadOnly, PrevalenceError):
    """A command sent to a prevalent system that replicates another (a read-only replica)."""


class StorageError(RevkvError):
    """The disk or the files on it failed us."""


class DirectoryLocked(StorageError):
    """Another process has the data directory open."""

    fields = ("path", "pid")

    def __init__(self, path: Path, pid: int | None, holder: str = "") -> None:
        who = f"process {pid}" if pid else "another process"
        if holder:
            who += f" ({holder})"
        super().__init__(
            f"{path} is in use by {who}; only one process may open it at a time. "
            "Stop that process, or connect to it instead of opening the directory"
        )
        self.path = path
        self.pid = pid


class JournalCorrupted(StorageError):
    """Damage in the journal before its last record: start-up stops and names the spot."""

    fields = ("path", "offset")

    def __init__(self, path: Path, offset: int, reason: str, repair_hint: str = "") -> None:
        hint = repair_hint or (
            f"run `revkv repair --data {path.parent}` to cut the journal at the last good "
            "record (the damaged bytes are kept in a .broken file)"
        )
        super().__init__(f"Journal {path} is damaged at byte {offset}: {reason}; {hint}")
        self.path = path
        self.offset = offset
        self.reason = reason
        #: whether `revkv repair` can deal with it (without a hint of its own, it can)
        self.repairable = not repair_hint


class SnapshotCorrupted(StorageError):
    """A snapshot whose checksum or format does not hold."""

    fields = ("path",)

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"Snapshot {path} is damaged: {reason}")
        self.path = path
        self.reason = reason


class ManifestCorrupted(StorageError):
    """The directory's manifest (`SYSTEM`) does not parse or lacks a field."""

    fields = ("path",)

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"Manifest {path} is damaged: {reason}. It names the codec and class the "
            "directory was written with: restore it from a backup, or write it again by "
            'hand (a revkv store\'s is {"format": 1, "codec": "msgpack", "class": '
            '"revkv.store._state:StoreState"}); `revkv repair` does not guess it'
        )
        self.path = path
        self.reason = reason


class JournalMissing(StorageError):
    """Journal records that were written are gone: a segment was deleted or lost.

    Start-up, `revkv check` and `revkv repair` all name it the same way; only a person
    can decide to restore the file or to accept the loss (`revkv repair --accept-loss`).
    """

    fields = ("path",)

    def __init__(self, path: Path, reason: str, hint: str) -> None:
        super().__init__(f"Journal segment {path} is missing: {reason}; {hint}")
        self.path = path
        self.reason = reason
        self.hint = hint


class SchemaOutdated(StorageError):
    """The database holds an older revkv schema than this revkv needs: a server refuses
    to start on it rather than write rows the old layout cannot hold."""

    fields = ("found", "needed")

    def __init__(self, found: str | None, needed: str, url: str = "URL") -> None:
        super().__init__(
            f"the database's revkv schema is at revision {found or 'none'}, this revkv needs "
            f"{needed}; run `revkv db upgrade --db {url}` first"
        )
        self.found = found
        self.needed = needed


class JournalFailed(StorageError):
    """A journal write or fsync failed; the system refuses further writes until reopened."""
