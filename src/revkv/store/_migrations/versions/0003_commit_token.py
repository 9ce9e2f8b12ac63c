"""The token that made each commit (`Commit.token`), "" for older rows and servers
without tokens.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("revkv_commits", sa.Column("token", sa.Text, nullable=False, server_default=""))


def downgrade() -> None:
    op.drop_column("revkv_commits", "token")
