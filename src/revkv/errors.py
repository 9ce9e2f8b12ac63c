"""The one error hierarchy of revkv.

Every door maps these classes to its transport in one table (HTTP statuses in
``revkv.http.errors``, CLI exit codes in ``revkv.cli.output``), resolved by class
hierarchy, so a new subclass inherits the right answer. Each message says what was
wrong and what to do about it. Errors carry their data as attributes.

    RevkvError
    ├── NotFound (also KeyError)
    │   ├── KeyNotFound
    │   ├── VersionNotFound
    │   └── NamespaceNotFound
    ├── Conflict
    │   ├── VersionConflict         .current_version
    │   ├── TxnConflict             .failed (the checks that did not hold)
    │   └── NamespaceExists
    ├── InvalidRequest (also ValueError)
    │   ├── InvalidKey
    │   ├── InvalidName
    │   ├── InvalidVersion
    │   ├── PayloadTooLarge         .limit
    │   ├── SchemaViolation
    │   └── QuerySyntaxError        .position
    ├── Compacted                   .oldest_rev
    ├── Unauthorized
    ├── Forbidden
    ├── PrevalenceError             (the object-prevalence engine)
    │   ├── ClockMisuse             .method
    │   ├── ReplayDiverged          .seq
    │   └── ReadOnlySystem
    └── StorageError
        ├── DirectoryLocked         .path .pid
        ├── JournalCorrupted        .path .offset
        ├── SnapshotCorrupted       .path
        ├── JournalFailed           (a write or fsync failed; reopen)
        └── ReadOnly

This module imports nothing of revkv.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "ClockMisuse",
    "Compacted",
    "Conflict",
    "DirectoryLocked",
    "Forbidden",
    "InvalidKey",
    "InvalidName",
    "InvalidRequest",
    "InvalidVersion",
    "JournalCorrupted",
    "JournalFailed",
    "KeyNotFound",
    "NamespaceExists",
    "NamespaceNotFound",
    "NotFound",
    "PayloadTooLarge",
    "PrevalenceError",
    "QuerySyntaxError",
    "ReadOnly",
    "ReadOnlySystem",
    "ReplayDiverged",
    "RevkvError",
    "SchemaViolation",
    "SnapshotCorrupted",
    "StorageError",
    "TxnConflict",
    "Unauthorized",
    "VersionConflict",
    "VersionNotFound",
]


class RevkvError(Exception):
    """Base of every error revkv raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotFound(RevkvError, KeyError):
    """The thing asked for does not exist (also a ``KeyError``, so ``except KeyError`` works)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.message


class KeyNotFound(NotFound):
    def __init__(self, namespace: str, key: str) -> None:
        super().__init__(f"Key not found: {key!r} in namespace {namespace!r}")
        self.namespace = namespace
        self.key = key


class VersionNotFound(NotFound):
    def __init__(self, namespace: str, key: str, version: int) -> None:
        super().__init__(
            f"Version {version} of key {key!r} in namespace {namespace!r} does not exist "
            "(or was removed by the namespace's history retention)"
        )
        self.namespace = namespace
        self.key = key
        self.version = version


class NamespaceNotFound(NotFound):
    def __init__(self, namespace: str) -> None:
        super().__init__(
            f"Namespace {namespace!r} does not exist; create it first "
            "(or enable auto_create_namespaces)"
        )
        self.namespace = namespace


class Conflict(RevkvError):
    """The write was well-formed but the state it expected is not the state that is."""


class VersionConflict(Conflict):
    """A compare-and-set named a version other than current + 1."""

    def __init__(
        self, namespace: str, key: str, provided_version: int, current_version: int
    ) -> None:
        super().__init__(
            f"Version conflict on {key!r} in {namespace!r}: you wrote version "
            f"{provided_version} but the current version is {current_version}, so the next "
            f"must be {current_version + 1}; read the key again and retry"
        )
        self.namespace = namespace
        self.key = key
        self.provided_version = provided_version
        self.current_version = current_version

    @property
    def expected_version(self) -> int:
        return self.current_version + 1


class TxnConflict(Conflict):
    """A transaction's checks did not hold; nothing was written."""

    def __init__(self, failed: list[tuple[str, str, int | None, int | None]]) -> None:
        parts = ", ".join(
            f"{ns}/{key} expected {exp if exp is not None else 'absent'} "
            f"but is {cur if cur is not None else 'absent'}"
            for ns, key, exp, cur in failed
        )
        super().__init__(f"Transaction not applied, its checks failed: {parts}")
        self.failed = failed


class NamespaceExists(Conflict):
    def __init__(self, namespace: str) -> None:
        super().__init__(f"Namespace {namespace!r} already exists")
        self.namespace = namespace


class InvalidRequest(RevkvError, ValueError):
    """The request itself is malformed; retrying it unchanged cannot succeed."""


class InvalidKey(InvalidRequest):
    pass


class InvalidName(InvalidRequest):
    pass


class InvalidVersion(InvalidRequest):
    pass


class PayloadTooLarge(InvalidRequest):
    def __init__(self, message: str, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


class SchemaViolation(InvalidRequest):
    pass


class QuerySyntaxError(InvalidRequest):
    """A $filter or $orderby expression could not be parsed; ``position`` is 0-based."""

    def __init__(self, message: str, expression: str, position: int) -> None:
        super().__init__(f"{message} at position {position} in {expression!r}")
        self.expression = expression
        self.position = position


class Compacted(RevkvError):
    """A watcher asked for changes older than the retained history."""

    def __init__(self, requested_rev: int, oldest_rev: int) -> None:
        super().__init__(
            f"Changes since rev {requested_rev} are no longer retained; the oldest rev you can "
            f"resume from is {oldest_rev} (or watch with resync=True to get the current state)"
        )
        self.requested_rev = requested_rev
        self.oldest_rev = oldest_rev


class Unauthorized(RevkvError):
    pass


class Forbidden(RevkvError):
    pass


class PrevalenceError(RevkvError):
    """Misuse of, or divergence in, an object-prevalence system."""


class ClockMisuse(PrevalenceError):
    def __init__(self, method: str, call: str) -> None:
        super().__init__(
            f"{method} calls {call} directly, which gives a different time when the journal is "
            f"replayed; use self._clock.now(), .utcnow(), .today() or .time() instead "
            "(or open the system with validate_clock=False)"
        )
        self.method = method
        self.call = call


class ReplayDiverged(PrevalenceError):
    def __init__(self, seq: int, command: str, error: BaseException) -> None:
        super().__init__(
            f"Replaying command #{seq} ({command}) raised {type(error).__name__}: {error}, "
            "but it did not raise when it was first executed: the code of the system changed "
            "in a way that is not compatible with its journal, or it is not deterministic"
        )
        self.seq = seq
        self.command = command


class ReadOnlySystem(PrevalenceError):
    pass


class StorageError(RevkvError):
    """The disk or the files on it failed us."""


class DirectoryLocked(StorageError):
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
    def __init__(self, path: Path, offset: int, reason: str, repair_hint: str = "") -> None:
        hint = repair_hint or (
            f"run `revkv repair --data {path.parent}` to cut the journal at the last good "
            "record (the damaged bytes are kept in a .broken file)"
        )
        super().__init__(f"Journal {path} is damaged at byte {offset}: {reason}; {hint}")
        self.path = path
        self.offset = offset
        self.reason = reason


class SnapshotCorrupted(StorageError):
    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"Snapshot {path} is damaged: {reason}")
        self.path = path
        self.reason = reason


class JournalFailed(StorageError):
    """A journal write or fsync failed; the system refuses further writes until reopened."""


class ReadOnly(StorageError):
    pass
