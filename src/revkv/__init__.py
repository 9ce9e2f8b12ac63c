"""revkv: a versioned key-value and object store. Every write is a commit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from revkv.client import AsyncClient, Client, Mirror
from revkv.errors import (
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
    PayloadTooLarge,
    PrevalenceError,
    QuerySyntaxError,
    ReadOnly,
    RevkvError,
    SchemaViolation,
    SnapshotCorrupted,
    StorageError,
    TxnConflict,
    Unauthorized,
    VersionConflict,
    VersionNotFound,
)
from revkv.hub import Watch
from revkv.model import DEFAULT, Check, Commit, Delete, Event, Meta, Namespace, Page, Put, TxnResult
from revkv.store.base import Store
from revkv.store.embedded import EmbeddedStore

__version__ = "0.1.0"


def open(path: str | Path | None = None, **settings: Any) -> EmbeddedStore:
    """Open (or create) an embedded store in `path`; with no path, in memory only.

    Settings: `durability` ("always", "interval", "never"), `auto_create_namespaces`
    (default True), `snapshot_every` (commands), `change_log_size`, `sweep_interval`.
    """
    return EmbeddedStore(path, **settings)


__all__ = [
    "DEFAULT",
    "AsyncClient",
    "Check",
    "Client",
    "Commit",
    "Compacted",
    "Conflict",
    "Delete",
    "DirectoryLocked",
    "EmbeddedStore",
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
    "NotFound",
    "Page",
    "PayloadTooLarge",
    "PrevalenceError",
    "Put",
    "QuerySyntaxError",
    "ReadOnly",
    "RevkvError",
    "SchemaViolation",
    "SnapshotCorrupted",
    "StorageError",
    "Store",
    "TxnConflict",
    "TxnResult",
    "Unauthorized",
    "VersionConflict",
    "VersionNotFound",
    "Watch",
    "__version__",
    "open",
]
