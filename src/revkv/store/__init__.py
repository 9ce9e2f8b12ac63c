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
    "Pending",
    "Resolved",
    "Select",
    "Selection",
    "Store",
    "StoreStats",
    "Sweep",
    "Window",
    "open_backend",
]


def open_backend(location: str | Path | None = None, **options: Any) -> Store:
    """The backend at `location`: a data directory (None: in memory)."""
    from revkv.store._embedded import EmbeddedStore

    return EmbeddedStore(location, **options)
