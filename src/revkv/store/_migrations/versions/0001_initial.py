"""The first layout: commits, heads, namespaces, the rev counter (see _sql_schema.py).

Written out here rather than taken from `_sql_schema`, so that this migration keeps
making the layout of revision 0001 when the current one changes.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

KEY = sa.Text(collation="C")


def upgrade() -> None:
    op.create_table(
        "revkv_commits",
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
        sa.UniqueConstraint("rev", "pos", name="revkv_commits_rev"),
    )
    op.create_table(
        "revkv_heads",
        sa.Column("namespace", KEY, primary_key=True),
        sa.Column("key", KEY, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("rev", sa.BigInteger, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("expires", sa.Float(53)),
    )
    op.create_table(
        "revkv_namespaces",
        sa.Column("name", KEY, primary_key=True),
        sa.Column("settings", JSONB, nullable=False),
        sa.Column("created_rev", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "revkv_counter",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("rev", sa.BigInteger, nullable=False),
        sa.Column("pruned_rev", sa.BigInteger, nullable=False),
    )
    op.execute("INSERT INTO revkv_counter (id, rev, pruned_rev) VALUES (1, 0, 0)")


def downgrade() -> None:
    for table in ("revkv_counter", "revkv_namespaces", "revkv_heads", "revkv_commits"):
        op.drop_table(table)
