"""revkv: a versioned key-value and object store. Every write is a commit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from revkv._api import StoreAPI
from revkv._hub import Watch
from revkv._model import (
    DEFAULT,
    Check,
    Commit,
    Condition,
    Delete,
    Event,
    Meta,
    Namespace,
    Page,
    Put,
    TxnResult,
)
from revkv._service import Service
from revkv._view import NamespaceView
from revkv.client import AsyncClient, Client, Mirror
from revkv.errors import (
    Busy,
    Compacted,
    Conflict,
    DirectoryLocked,
    Forbidden,
    InvalidKey,
    InvalidName,
    InvalidRequest,
    InvalidVersion,
    JournalCorrupted,
    JournalFailed,
    KeyNotFound,
    NamespaceExists,
    NamespaceNotFound,
    NotFound,
    NotRevkvServer,
    PayloadTooLarge,
    PreconditionFailed,
    PrevalenceError,
    QuerySyntaxError,
    ReadOnly,
    RevkvError,
    SchemaViolation,
    SnapshotCorrupted,
    StorageError,
    TxnConflict,
    Unauthorized,
    Unavailable,
    Unreachable,
    VersionConflict,
    VersionNotFound,
    VersionPurged,
)
from revkv.store.base import Store

__version__ = "0.1.0"


def open(
    path: str | Path | None = None, *, sweep_interval: float | None = 1.0, **settings: Any
) -> Service:
    """Open (or create) an embedded store in `path`; with no path, in memory only.

    Settings: `durability` ("always", "interval", "never"), `auto_create_namespaces`
    (default True), `snapshot_every` (commands), `change_log_size`; `sweep_interval`
    (seconds) is how often expiries are recorded as commits (None: never by a thread).
    Close it when done (`with revkv.open(...) as store:`): one process at a time may
    hold a directory.
    """
    from revkv.store import open_backend

    return Service(open_backend(path, **settings), sweep_interval=sweep_interval)


__all__ = [
    "DEFAULT",
    "AsyncClient",
    "Busy",
    "Check",
    "Client",
    "Commit",
    "Compacted",
    "Condition",
    "Conflict",
    "Delete",
    "DirectoryLocked",
    "Event",
    "Forbidden",
    "InvalidKey",
    "InvalidName",
    "InvalidRequest",
    "InvalidVersion",
    "JournalCorrupted",
    "JournalFailed",
    "KeyNotFound",
    "Meta",
    "Mirror",
    "Namespace",
    "NamespaceExists",
    "NamespaceNotFound",
    "NamespaceView",
    "NotFound",
    "NotRevkvServer",
    "Page",
    "PayloadTooLarge",
    "PreconditionFailed",
    "PrevalenceError",
    "Put",
    "QuerySyntaxError",
    "ReadOnly",
    "RevkvError",
    "SchemaViolation",
    "Service",
    "SnapshotCorrupted",
    "StorageError",
    "Store",
    "StoreAPI",
    "TxnConflict",
    "TxnResult",
    "Unauthorized",
    "Unavailable",
    "Unreachable",
    "VersionConflict",
    "VersionNotFound",
    "VersionPurged",
    "Watch",
    "__version__",
    "open",
]
