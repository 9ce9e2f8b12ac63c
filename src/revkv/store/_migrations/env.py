"""Alembic's entry point for revkv's migrations: run on the connection revkv hands in
(`revkv.store._sql_migrate`), never on a URL of its own."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, version_table="revkv_alembic_version")
with context.begin_transaction():
    context.run_migrations()
