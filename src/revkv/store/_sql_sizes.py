"""The size of a PostgreSQL store: per namespace by query, and the tables on disk.

Counting versions and payload bytes reads every row of `revkv_commits` (lengths come
from the TOAST headers, not the payloads), so an answer is reused while the rev has not
moved, and otherwise for `SLACK` times as long as the query took: a small store is
counted afresh at each scrape, and a big one whose count takes a second spends at most
a twentieth of a connection's time on it, whatever the number of scrapers. Keys come
from `revkv_heads`. Memory is the database's business and is not reported (None).
"""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa

from revkv.store.base import NamespaceStats

SLACK = 20  # an answer is reused for this many times the time it took

SIZES = sa.text(
    "SELECT n.name, coalesce(h.keys, 0), coalesce(c.versions, 0), coalesce(c.bytes, 0) "
    "FROM revkv_namespaces n "
    "LEFT JOIN (SELECT namespace, count(*) AS keys FROM revkv_heads GROUP BY namespace) h "
    "ON h.namespace = n.name "
    "LEFT JOIN (SELECT namespace, count(*) AS versions, sum(octet_length(payload)) AS bytes "
    "FROM revkv_commits GROUP BY namespace) c ON c.namespace = n.name ORDER BY n.name"
)
DATABASE_BYTES = sa.text(
    "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
    "JOIN pg_namespace s ON s.oid = c.relnamespace "
    "WHERE c.relkind = 'r' AND c.relname LIKE 'revkv\\_%' AND s.nspname = current_schema()"
)


class SqlSizes:
    """The last answer, the rev it was read at and for how long it holds; thread-safe,
    one query at a time."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._mu = threading.Lock()
        self._rev = -1
        self._fresh_until = float("-inf")
        self._answer: tuple[dict[str, NamespaceStats], int] = ({}, 0)

    def read(self, rev: int) -> tuple[dict[str, NamespaceStats], int]:
        """(sizes by namespace, bytes the revkv tables take with their indexes and TOAST)."""
        with self._mu:
            now = time.monotonic()
            if rev != self._rev and now >= self._fresh_until:
                with self._engine.connect() as connection:
                    rows = connection.execute(SIZES).all()
                    total = int(connection.execute(DATABASE_BYTES).scalar_one())
                self._answer = (
                    {
                        name: NamespaceStats(int(keys), int(versions), int(size), None)
                        for name, keys, versions, size in rows
                    },
                    total,
                )
                self._rev = rev
                self._fresh_until = now + SLACK * (time.monotonic() - now)
            return self._answer
