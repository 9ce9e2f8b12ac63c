"""The first layout: commits, heads, namespaces, the rev counter (see _sql_schema.py).

Revision ID: 0001
"""

from __future__ import annotations

from alembic import op

from revkv.store import _sql_schema as schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TABLES = (schema.commits, schema.heads, schema.namespaces, schema.counter)


def upgrade() -> None:
    bind = op.get_bind()
    for table in TABLES:
        table.create(bind)
    op.execute("INSERT INTO revkv_counter (id, rev, pruned_rev) VALUES (1, 0, 0)")


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(TABLES):
        table.drop(bind)
