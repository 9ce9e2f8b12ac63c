"""The `revkv` group: global options, error presentation, and the commands' registration."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import click

from revkv.cli._admin import check, repair, snapshot
from revkv.cli._backup import backup
from revkv.cli._db import db
from revkv.cli._dripline import dripline
from revkv.cli._edit import diff, edit
from revkv.cli._kv import delete, get, history, list_, meta, revert, set_
from revkv.cli._namespaces import ns
from revkv.cli._output import present_errors, translate_errors
from revkv.cli._purge import compact, purge
from revkv.cli._serve import serve
from revkv.cli._size import stats
from revkv.cli._target import check_db, check_url, choose_target
from revkv.cli._transfer import export, import_
from revkv.cli._watch import watch

HELP = """revkv: a versioned key-value and object store. Every write is a commit.

Each command opens the store in --data, does its one thing and closes it; with
--url (or $REVKV_URL) it does the same against a revkv server instead. Keys live in
namespaces (-n, default `default`); every write is a new numbered version with its
author and comment, and the history stays readable.

\b
Examples:
  revkv set greeting 'hello world' -m 'first draft'
  revkv get greeting
  revkv history greeting
  revkv diff greeting 1 2
  revkv --data /srv/revkv list --json
  revkv --url http://127.0.0.1:8080 history greeting

\b
Output is for people on a terminal (tables, colours) and stable, tab-separated
text in a pipe; --json on every command that reads.

\b
Exit codes:
  0  ok
  1  not found
  2  usage error (or a request the store refuses as malformed)
  3  conflict (someone else wrote first; read again and retry)
  4  any other error (also: the server cannot be reached, or refused the token)
  5-9  `revkv serve` could not start: 5 directory in use, 6 store needs repair,
       7 cannot listen, 8 bad configuration, 9 store unavailable (docs/cli.md)
"""


class RevkvGroup(click.Group):
    """A group whose commands' revkv errors become one line and the documented exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        with translate_errors():
            return super().invoke(ctx)


@click.group(cls=RevkvGroup, help=HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    default=lambda: os.environ.get("REVKV_DATA", "revkv-data"),
    show_default="./revkv-data, or $REVKV_DATA",
    help="The data directory of an embedded store (or any prevalence directory); "
    "ignored when a server URL is set.",
)
@click.option(
    "--url",
    envvar="REVKV_URL",
    callback=check_url,
    metavar="URL",
    help="Work against the revkv server at URL (e.g. http://127.0.0.1:8080) instead of "
    "a directory; or $REVKV_URL, which a --data flag overrides. snapshot, check, "
    "repair, import and serve work on a local directory only.",
)
@click.option(
    "--token",
    envvar="REVKV_TOKEN",
    metavar="TOKEN",
    help="The bearer token to send to the --url server, or $REVKV_TOKEN.",
)
@click.option(
    "--ca-file",
    envvar="REVKV_CA_FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="The PEM CA certificate that signed an https:// --url server's certificate "
    "(a private CA), or $REVKV_CA_FILE; default: the system's CAs.",
)
@click.option(
    "--db",
    envvar="REVKV_DB",
    callback=check_db,
    metavar="URL",
    help="Work on the store in a PostgreSQL database (postgresql://user@host/db) instead "
    "of a directory; or $REVKV_DB.",
)
@click.option("-v", "--verbose", count=True, help="Log more (-v info, -vv debug).")
@click.version_option(package_name="revkv")
@click.pass_context
def cli(
    ctx: click.Context,
    data: Path,
    url: str | None,
    token: str | None,
    ca_file: Path | None,
    db: str | None,
    verbose: int,
) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = choose_target(ctx, data, url, token, db, ca_file)


for command in (set_, get, meta, list_, history, diff, edit, delete, revert, watch, ns,
                snapshot, export, import_, check, repair, serve, db, dripline,
                stats, backup, purge, compact):  # fmt: skip
    cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    with present_errors():
        cli.main(args=argv, prog_name="revkv", standalone_mode=True)


if __name__ == "__main__":  # pragma: no cover
    main()
