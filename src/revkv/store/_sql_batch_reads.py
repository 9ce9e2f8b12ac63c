"""Group reads for the SQL store: the newest versions asked for together, from any
number of coroutines, fetched in one statement.

A server on PostgreSQL used to read a key in the event loop's own thread, one round
trip at a time: the loop sat idle in `Connection.wait` for most of a GET (bench/sql.py,
py-spy), and no other request moved meanwhile. Here a few reader threads each hold an
autocommit connection; a coroutine queues its (namespace, key) and awaits a future.
A reader takes everything queued while its previous statement ran, asks for the
distinct keys in one prepared statement (`unnest` of two arrays, joined to the heads
and their commits), and settles each event loop's futures with one wake-up per loop.
The same shape as the group commit (`_sql_commit`), for reads.

Consistency is unchanged: a read is queued after its request arrived, and its
statement starts after that, on an autocommit connection, so it sees every transaction
committed before the request — a write acknowledged by any server included.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections import defaultdict
from typing import Any

import psycopg

from revkv.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

MAX_BATCH = 512
READERS = 2

#: the statement, given the commit columns as `_sql_reads.commit_of` reads them
_LATEST = (
    "SELECT i.n, {columns} "
    "FROM unnest(CAST(%s AS text[]), CAST(%s AS text[])) WITH ORDINALITY AS i(ns, key, n) "
    'JOIN revkv_heads h ON h.namespace = i.ns COLLATE "C" AND h.key = i.key COLLATE "C" '
    "JOIN revkv_commits c ON c.namespace = h.namespace AND c.key = h.key "
    "AND c.version = h.version"
)

Row = tuple[Any, ...]
#: one queued read: the key, the loop of the coroutine awaiting it, its future
Ask = tuple[str, str, asyncio.AbstractEventLoop, "asyncio.Future[Row | None]"]


class BatchReader:
    """Reader threads over their own connections to `dsn`; thread-safe, any loops.
    `columns` are the commit's, in the order the store's row reader expects them."""

    def __init__(self, dsn: str, columns: str, readers: int = READERS) -> None:
        self._dsn = dsn
        self._sql = _LATEST.format(columns=columns)
        self._queue: queue.SimpleQueue[Ask | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._run, name=f"revkv-read-{n}", daemon=True)
            for n in range(readers)
        ]
        self.batches = 0  # statements run, and the reads they answered: for stats()
        self.reads = 0
        for thread in self._threads:
            thread.start()

    def latest(self, namespace: str, key: str) -> asyncio.Future[Row | None]:
        """A future of the key's head commit row (None: no head), on the running loop."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Row | None] = loop.create_future()
        self._queue.put((namespace, key, loop, future))
        return future

    def stop(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=5)

    # -- in a reader thread ------------------------------------------------------------

    def _run(self) -> None:
        connection: psycopg.Connection[Row] | None = None
        try:
            while True:
                asks = self._take()
                if asks is None:
                    return
                connection = self._answer(connection, asks)
        finally:
            if connection is not None:
                connection.close()

    def _take(self) -> list[Ask] | None:
        first = self._queue.get()
        if first is None:
            return None
        asks = [first]
        while len(asks) < MAX_BATCH:
            try:
                more = self._queue.get_nowait()
            except queue.Empty:
                break
            if more is None:
                self._queue.put(None)  # this reader's stop: after this batch
                break
            asks.append(more)
        return asks

    def _answer(
        self, connection: psycopg.Connection[Row] | None, asks: list[Ask]
    ) -> psycopg.Connection[Row] | None:
        """Read the asked keys and settle every future; the connection to use next."""
        keys = list(dict.fromkeys((ns, key) for ns, key, _, _ in asks))
        try:
            connection, rows = self._read(connection, keys)
        except psycopg.Error as error:
            if not isinstance(error, psycopg.OperationalError):
                log.warning("a group read failed: %s", error)
            failure = DatabaseUnavailable(
                f"the database cannot be reached ({_reason(error)}); try again shortly"
            )
            self._settle(asks, {}, failure)
            return None
        self.batches += 1
        self.reads += len(asks)
        found = {keys[row[0] - 1]: row[1:] for row in rows}
        self._settle(asks, found, None)
        return connection

    def _read(
        self, connection: psycopg.Connection[Row] | None, keys: list[tuple[str, str]]
    ) -> tuple[psycopg.Connection[Row], list[Row]]:
        """The rows; a connection the database dropped (a restart) is made afresh once."""
        params = ([k[0] for k in keys], [k[1] for k in keys])
        for attempt in (1, 2):
            try:
                if connection is None or connection.closed:
                    connection = psycopg.connect(self._dsn, autocommit=True)
                return connection, connection.execute(self._sql, params, prepare=True).fetchall()
            except psycopg.OperationalError:
                if connection is not None:
                    connection.close()
                connection = None
                if attempt == 2:
                    raise
        raise AssertionError  # pragma: no cover

    def _settle(
        self,
        asks: list[Ask],
        found: dict[tuple[str, str], Row],
        failure: BaseException | None,
    ) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Row | None], Any]]]
        by_loop = defaultdict(list)
        for ns, key, loop, future in asks:
            by_loop[loop].append((future, failure or found.get((ns, key))))
        for loop, settled in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle_all, settled)
            except RuntimeError:  # that loop is closed: nobody awaits its reads
                log.debug("a read's event loop closed before its answer")


def _settle_all(settled: list[tuple[asyncio.Future[Row | None], Any]]) -> None:
    for future, value in settled:
        if future.done():  # cancelled: its request went away
            continue
        if isinstance(value, BaseException):
            future.set_exception(type(value)(*value.args))  # one each: tracebacks differ
        else:
            future.set_result(value)


def _reason(error: psycopg.Error) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
