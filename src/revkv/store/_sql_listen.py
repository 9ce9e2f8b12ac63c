"""LISTEN/NOTIFY: how one server learns of the commits of the others.

Every write transaction calls `pg_notify('revkv', rev)`, which PostgreSQL delivers at
COMMIT to every listening connection. A `Listener` keeps one such connection (outside
the pool) in a thread and tells the store each rev it hears (`SqlStore.advance`), which
wakes the Service's hub; the hub then reads the commits after its cursor from the
table, so a notification only has to say "something up to R is committed".

Notifications sent while the connection was down are lost, so after every (re)connect,
and once a second when all is quiet, the listener also reads the counter row itself:
a watcher is never left waiting on a commit it was not told about. A notification
`ns:NAME` says a namespace's settings changed: the store forgets the ones it kept
(`_sql_settings`), and forgets them all whenever the connection is (re)made or lost.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

import psycopg
import sqlalchemy as sa

from revkv.store._sql_settings import NAMESPACE_NOTICE
from revkv.store._sql_writes import CHANNEL

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
RECONNECT_SECONDS = 0.5


class Advancing(Protocol):
    def advance(self, rev: int) -> None: ...
    def settings_changed(self, name: str | None) -> None: ...
    def hearing(self, on: bool) -> None: ...


class Listener:
    def __init__(self, store: Advancing, url: sa.URL) -> None:
        self._store = store
        self._dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._stop = threading.Event()
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None
        self._thread = threading.Thread(target=self._run, name="revkv-listen", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except psycopg.Error as error:
                if not self._stop.is_set():
                    log.warning("LISTEN connection lost (%s); reconnecting", error)
            finally:
                self._store.hearing(False)
            self._stop.wait(RECONNECT_SECONDS)

    def _listen(self) -> None:
        with psycopg.connect(self._dsn, autocommit=True) as connection:
            self._connection = connection
            connection.execute(f"LISTEN {CHANNEL}")
            self._store.hearing(True)
            while not self._stop.is_set():
                self._poll(connection)
                for notice in connection.notifies(timeout=POLL_SECONDS):
                    if self._stop.is_set():
                        return
                    if notice.payload.isdigit():
                        self._store.advance(int(notice.payload))
                    elif notice.payload.startswith(NAMESPACE_NOTICE):
                        self._store.settings_changed(notice.payload[len(NAMESPACE_NOTICE) :])

    def _poll(self, connection: psycopg.Connection[tuple[object, ...]]) -> None:
        row = connection.execute("SELECT rev FROM revkv_counter").fetchone()
        if row is not None:
            self._store.advance(int(str(row[0])))

    def stop(self, wake: Callable[[], object] | None = None) -> None:
        """End the thread; `wake` (a NOTIFY of nothing) spares waiting out the poll."""
        self._stop.set()
        if wake is not None:
            try:
                wake()
            except Exception:  # a database gone already: the poll's timeout ends it
                log.debug("could not wake the listener", exc_info=True)
        self._thread.join(timeout=POLL_SECONDS * 3)
