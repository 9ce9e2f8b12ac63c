"""The SQL layout of a revkv store, and the Alembic migrations that make it.

Four tables; every name starts with `revkv_`, so a store can share a database::

    revkv_commits     one row per commit (version of a key), updated only by a purge
      namespace, key, version    PRIMARY KEY: a key's versions, newest found by the key
      rev, pos                   UNIQUE: the store-wide rev (shared by a transaction's
                                 commits) and the commit's place in it: change order
      mtime, author, comment, expires, deleted, payload (bytea, verbatim)
      doc                        the payload as jsonb when it is JSON, else NULL: what
                                 `$filter` reads (query/_to_sql.py)
      token                      the token that made the commit ("" without tokens;
                                 migration 0003)
      purged                     the payload was purged: emptied for good, doc NULL
                                 (`revkv purge`; migration 0004)
    revkv_heads       one row per key: its newest version (the "newest version per key"
                      index, kept in the writing transaction); the row writers lock
      namespace, key (PRIMARY KEY), version, rev, deleted, expires
      index on expires of live heads: what the TTL sweeper scans (migration 0002)
    revkv_namespaces  name (PRIMARY KEY), settings (jsonb), created_rev
    revkv_counter     one row: rev (the newest committed rev) and pruned_rev (below it,
                      retention has removed commits: watchers resuming there get
                      `Compacted`)

Keys compare as Unicode code points (`COLLATE "C"`), as Python sorts strings, so a
listing's order and paging do not depend on the database's locale.

Why a counter row and not a sequence: a writer takes the next rev by updating the row,
which it then holds locked until COMMIT. Writers therefore commit in rev order, and a
committed rev R means every rev below R is committed too: a watcher that resumes after R
can never miss a commit that becomes visible later. The price is that commits are
serialized (each waits for the previous one's COMMIT); it is the simplest correct
choice, and what bench/sql.py measures.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

#: The Alembic revision this code needs; `revkv db upgrade` brings a database to it.
SCHEMA_HEAD = "0004"
MIGRATIONS = Path(__file__).with_name("_migrations")

metadata = sa.MetaData()

KEY = sa.Text(collation="C")

commits = sa.Table(
    "revkv_commits",
    metadata,
    sa.Column("namespace", KEY, primary_key=True),
    sa.Column("key", KEY, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("rev", sa.BigInteger, nullable=False),
    sa.Column("pos", sa.Integer, nullable=False),
    sa.Column("mtime", sa.Float(53), nullable=False),
    sa.Column("author", sa.Text, nullable=False),
    sa.Column("comment", sa.Text, nullable=False),
    sa.Column("expires", sa.Float(53)),
    sa.Column("deleted", sa.Boolean, nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),
    sa.Column("doc", JSONB),
    # the token that made the commit, on a server with tokens (migration 0003)
    sa.Column("token", sa.Text, nullable=False, server_default=""),
    # true once the payload was purged (emptied for good; migration 0004)
    sa.Column("purged", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.UniqueConstraint("rev", "pos", name="revkv_commits_rev"),
)

heads = sa.Table(
    "revkv_heads",
    metadata,
    sa.Column("namespace", KEY, primary_key=True),
    sa.Column("key", KEY, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("rev", sa.BigInteger, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False),
    sa.Column("expires", sa.Float(53)),
)
#: made by migration 0002 (the first migration a database can be behind on)
HEADS_EXPIRES_INDEX = "revkv_heads_expires"

namespaces = sa.Table(
    "revkv_namespaces",
    metadata,
    sa.Column("name", KEY, primary_key=True),
    sa.Column("settings", JSONB, nullable=False),
    sa.Column("created_rev", sa.BigInteger, nullable=False),
)

counter = sa.Table(
    "revkv_counter",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("rev", sa.BigInteger, nullable=False),
    sa.Column("pruned_rev", sa.BigInteger, nullable=False),
)
