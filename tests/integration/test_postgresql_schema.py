"""The Alembic migrations make exactly the layout `_sql_schema` declares: a change to
one without the other (or without a new migration) fails here."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import revkv
from revkv.store._sql import engine_url
from revkv.store._sql_schema import metadata


def test_the_migrations_make_the_declared_schema(pg_url: str) -> None:
    with revkv.open(pg_url, sweep_interval=None):
        pass
    engine = sa.create_engine(engine_url(pg_url))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"version_table": "revkv_alembic_version"}
            )
            differences = [
                d
                for d in compare_metadata(context, metadata)
                if not (d[0] == "remove_index" and d[1].name == "revkv_heads_expires")
            ]
    finally:
        engine.dispose()
    assert differences == []
