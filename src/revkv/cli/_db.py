"""`revkv db`: the schema of a PostgreSQL store."""

from __future__ import annotations

import click

from revkv.cli._target import current_target


def _url(given: str | None) -> str:
    url = given or current_target().db
    if url is None:
        raise click.UsageError("name the database: revkv --db postgresql://USER@HOST/DB db ...")
    return url


@click.group()
def db() -> None:
    """The schema of a PostgreSQL store: servers refuse an older one.

    \b
    Examples:
      revkv --db postgresql://revkv@localhost/revkv db upgrade
    """


@db.command()
@click.argument("url", required=False)
def upgrade(url: str | None) -> None:
    """Bring the database's schema to the one this revkv needs (Alembic migrations).

    Servers refuse to start on an older schema and name this command. Safe to run
    while others run it too (it takes a lock), and a no-op when already current.

    \b
    Examples:
      revkv --db postgresql://revkv@localhost/revkv db upgrade
      revkv db upgrade postgresql://revkv@localhost/revkv
    """
    from revkv.store import prepare_database

    where = prepare_database(_url(url), upgrade=True)
    click.echo(f"{where}: schema is current")
