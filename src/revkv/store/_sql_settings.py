"""Namespace settings kept in memory by a SQL store that listens, so that a server does
not go to the database for them on every write.

The HTTP door asks for a namespace's `max_payload` before it reads a request's body
(to refuse an oversized one early): on PostgreSQL that was one blocking round trip per
PUT, on the event loop — most of a PUT's time (bench/sql.py). Settings change rarely,
so they are kept here and forgotten when they change:

- this server's own `create_namespace`/`update_namespace` forget the name at once;
- every server's do `pg_notify('revkv', 'ns:NAME')` in the same transaction, and each
  listener forgets the name when the notification arrives (milliseconds after COMMIT);
- a listener that (re)connects forgets everything (notifications sent while it was down
  are lost), and while it is down nothing is kept.

So a settings read on another server than the one that changed them may lag by the
notification's delay. Writes never use this: a write's transaction reads its
namespace's settings itself, so sizes, schemas and TTLs are always checked against the
committed settings. An absent namespace is never kept (it may be created any moment).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from revkv._model import Namespace

#: the prefix of a notification that a namespace's settings changed (`_sql_listen`)
NAMESPACE_NOTICE = "ns:"


class SettingsCache:
    """Settings by namespace name; thread-safe. Off until `listening(True)`."""

    def __init__(self) -> None:
        self._kept: dict[str, Namespace] = {}
        self._lock = threading.Lock()
        self._generation = 0  # bumped by every forget: a read that raced one is not kept
        self._on = False

    def get(self, name: str, read: Callable[[], Namespace | None]) -> Namespace | None:
        """The kept settings of `name`, else `read()`'s (kept when nothing was forgotten
        meanwhile)."""
        found = self._kept.get(name)
        if found is not None:
            return found
        with self._lock:
            generation, on = self._generation, self._on
        found = read()
        if found is not None and on:
            with self._lock:
                if generation == self._generation and self._on:
                    self._kept[name] = found
        return found

    def peek(self, name: str) -> Namespace | None:
        """The kept settings of `name`, or None: never a read (an event loop may ask)."""
        return self._kept.get(name)

    def forget(self, name: str | None = None) -> None:
        """Forget `name`'s settings (None: every namespace's)."""
        with self._lock:
            self._generation += 1
            if name is None:
                self._kept.clear()
            else:
                self._kept.pop(name, None)

    def listening(self, on: bool) -> None:
        """Keep settings only while changes are heard; start afresh either way."""
        with self._lock:
            self._on = on
            self._generation += 1
            self._kept.clear()
