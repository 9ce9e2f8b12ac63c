"""Bringing a database to the schema this revkv needs (Alembic), and checking it.

`revkv db upgrade --db URL` runs `upgrade`. Opening a store runs `check`: an empty
database is given the schema (as an embedded store creates its directory); one at an
older revision is refused with `SchemaOutdated`, which names the command to run, so two
versions of revkv never write one database in two layouts.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from revkv.errors import SchemaOutdated
from revkv.store._sql_schema import MIGRATIONS, SCHEMA_HEAD

VERSION_TABLE = "revkv_alembic_version"
MIGRATION_LOCK = 0x7265766B76  # "revkv": the advisory lock migrations hold


def _config(connection: sa.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: sa.Engine) -> str:
    """Run every migration not yet applied (under a lock: servers may start together);
    returns the revision reached."""
    with engine.begin() as connection:
        connection.execute(sa.text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
        command.upgrade(_config(connection), "head")
    return SCHEMA_HEAD


def current(engine: sa.Engine) -> str | None:
    """The database's revision, None for a database without revkv's tables."""
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table(VERSION_TABLE):
            return None
        found = connection.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}"))
        return found.scalar()


def check(engine: sa.Engine, url: str, create: bool = True) -> None:
    """Refuse a database whose schema is not this revkv's; give an empty one the schema."""
    found = current(engine)
    if found is None and create:
        upgrade(engine)
        return
    if found != SCHEMA_HEAD:
        raise SchemaOutdated(found, SCHEMA_HEAD, url)
