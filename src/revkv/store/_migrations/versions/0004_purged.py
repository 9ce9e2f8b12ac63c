"""Purged versions (`revkv purge`): `revkv_commits.purged`, true once a version's
payload was removed for good (its payload is then empty and its doc NULL).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "revkv_commits",
        sa.Column("purged", sa.Boolean, nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("revkv_commits", "purged")
