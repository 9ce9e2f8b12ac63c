"""The TTL sweeper's index: live heads by expiry time (see _sql_schema.py).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "revkv_heads_expires",
        "revkv_heads",
        ["expires"],
        postgresql_where=sa.text("NOT deleted AND expires IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("revkv_heads_expires", table_name="revkv_heads")
