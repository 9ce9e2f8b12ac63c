"""Backends of the Store protocol (`base.py`); `embedded` is the default one.

`open_backend` is the one place that turns a location into a backend: the Python API
(`revkv.open`), `revkv serve` and the CLI all come through it, so a new backend is one
class plus one branch here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from revkv.store.base import (
    Column,
    CompactionReport,
    Pending,
    Resolved,
    Select,
    Selection,
    Store,
    StoreStats,
    Sweep,
    Window,
)

__all__ = [
    "Column",
    "CompactionReport",
    "Pending",
    "Resolved",
    "Select",
    "Selection",
    "Store",
    "StoreStats",
    "Sweep",
    "Window",
    "open_backend",
    "prepare_database",
]


#: Options only the embedded store has: a SQL store ignores them (its durability is
#: PostgreSQL's `synchronous_commit`).
_EMBEDDED_ONLY = frozenset(
    {
        "durability",
        "change_log_size",
        "change_log_bytes",
        "snapshot_every",
        "segment_size",
        "compact_on_snapshot",
    }
)


def _is_database_url(location: object) -> bool:
    """Whether `location` names a database (`postgresql://...`) rather than a directory."""
    return isinstance(location, str) and location.split(":", 1)[0].split("+", 1)[0] in (
        "postgresql",
        "postgres",
    )


def prepare_database(url: str, *, upgrade: bool = False) -> str:
    """Check (or, for an empty database, create) the schema at `url` before a server
    starts: `SchemaOutdated` names the command to run; with `upgrade` (`revkv db upgrade`)
    an older schema is migrated instead. Returns `url` without its password, for messages."""
    from revkv.store._sql import check_database

    return check_database(url, upgrade=upgrade)


def open_backend(location: str | Path | None = None, **options: Any) -> Store:
    """The backend at `location`: a `postgresql://` URL, a data directory, or None (in
    memory)."""
    if _is_database_url(location):
        try:
            from revkv.store._sql import SqlStore
        except ImportError as error:
            raise ImportError(
                f"{error.name} is missing: PostgreSQL needs `pip install 'revkv[postgresql]'`"
            ) from error
        assert isinstance(location, str)
        url = "postgresql" + location[location.index(":") :]
        kept = {k: v for k, v in options.items() if k not in _EMBEDDED_ONLY}
        return SqlStore(url, **kept)
    from revkv.store._embedded import EmbeddedStore

    return EmbeddedStore(location, **options)
