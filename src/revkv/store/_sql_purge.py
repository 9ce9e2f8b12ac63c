"""Removing history in PostgreSQL: purging payloads, retention applied at once, VACUUM.

A purge overwrites the rows where they are (`payload` emptied, `doc` NULL, `purged`
true, migration 0004) in one transaction that first locks the key's head row, as every
writer of the key does, so it is atomic with the key's writes. The old bytes then live
on only in PostgreSQL's dead row versions until VACUUM reclaims them (`compact` runs
it), and in its WAL and backups, which are the operator's to rotate.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from revkv._model import Namespace
from revkv.errors import InvalidRequest, KeyNotFound, NamespaceNotFound
from revkv.store._sql_writes import settings_of

_HEAD = sa.text("SELECT version FROM revkv_heads WHERE namespace = :ns AND key = :key FOR UPDATE")
_PURGE = sa.text(
    "UPDATE revkv_commits SET payload = ''::bytea, doc = NULL, purged = true "
    "WHERE namespace = :ns AND key = :key AND version < :before "
    "AND NOT deleted AND NOT purged"
)
_KEEP_NEWEST = sa.text(
    "DELETE FROM revkv_commits c USING revkv_heads h "
    "WHERE c.namespace = :ns AND h.namespace = c.namespace AND h.key = c.key "
    "AND c.version <= h.version - :keep RETURNING c.rev"
)
_KEEP_YOUNGER = sa.text(
    "DELETE FROM revkv_commits c USING revkv_heads h "
    "WHERE c.namespace = :ns AND h.namespace = c.namespace AND h.key = c.key "
    "AND c.version < h.version AND c.mtime < :cutoff RETURNING c.rev"
)
_PRUNED = sa.text("UPDATE revkv_counter SET pruned_rev = GREATEST(pruned_rev, :rev)")


def purge(connection: sa.Connection, namespace: str, key: str, before: int | None) -> int:
    """Empty the payloads of `key`'s versions below `before` (all with None)."""
    if settings_of(connection, namespace) is None:
        raise NamespaceNotFound(namespace)
    newest = connection.execute(_HEAD, {"ns": namespace, "key": key}).scalar()
    if newest is None:
        raise KeyNotFound(namespace, key)
    if before is not None and before > newest:
        raise InvalidRequest(
            f"key {key!r} has versions up to {newest}: purge before a version up to "
            f"{newest}, or every version (the newest included)"
        )
    limit = newest + 1 if before is None else before
    done = connection.execute(_PURGE, {"ns": namespace, "key": key, "before": limit})
    return int(done.rowcount)


def apply_retention(connection: sa.Connection, settings: Namespace, now: float) -> None:
    """Drop what the namespace's retention no longer keeps, from every key at once."""
    revs: list[Any] = []
    params = {"ns": settings.name}
    if settings.keep_versions is not None:
        revs += connection.execute(_KEEP_NEWEST, {**params, "keep": settings.keep_versions})
    if settings.keep_seconds is not None:
        cutoff = now - settings.keep_seconds
        revs += connection.execute(_KEEP_YOUNGER, {**params, "cutoff": cutoff})
    top = max((row[0] for row in revs), default=0)
    if top:
        connection.execute(_PRUNED, {"rev": top})


def vacuum(engine: sa.Engine) -> None:
    """VACUUM the commits table (outside a transaction, as VACUUM must run): the dead
    row versions that still hold purged or pruned payloads become free space."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM revkv_commits"))
