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
from revkv.cli._globals import log_level, recorded, refuse_unused, remembered, share_global_options
from revkv.cli._kv import delete, get, history, list_, meta, revert, set_
from revkv.cli._namespaces import ns
from revkv.cli._output import present_errors, translate_errors
from revkv.cli._purge import compact, purge
from revkv.cli._serve import serve
from revkv.cli._size import stats
from revkv.cli._target import check_db, check_url
from revkv.cli._transfer import export, import_
from revkv.cli._watch import watch

HELP = """revkv: a versioned key-value and object store. Every write is a commit.

Each command opens the store in --data, does its one thing and closes it; with
--url (or $REVKV_URL) it does the same against a revkv server instead. Keys live in
namespaces (-n, default `default`); every write is a new numbered version with its
author and comment, and the history stays readable. The options below may also follow
the command (`revkv get k --url URL -n ns`); given on both sides, the one after wins.
`put` is `set`, `del` and `rm` are `delete`.

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


#: what etcdctl and redis-cli users type, and the command it means
ALIASES = {"put": "set", "del": "delete", "rm": "delete"}


class RevkvGroup(click.Group):
    """A group whose commands' revkv errors become one line and the documented exit code,
    and which takes `ALIASES`, listed beside their command in --help (not as commands)."""

    def invoke(self, ctx: click.Context) -> Any:
        with translate_errors():
            return super().invoke(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, ALIASES.get(cmd_name, cmd_name))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            aliases = [alias for alias, meant in ALIASES.items() if meant == name]
            shown = f"{name} ({', '.join(aliases)})" if aliases else name
            rows.append((shown, command.get_short_help_str(formatter.width - 6 - len(shown))))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=RevkvGroup, help=HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    default=lambda: os.environ.get("REVKV_DATA", "revkv-data"),
    callback=remembered(),
    show_default="./revkv-data, or $REVKV_DATA",
    help="The data directory of an embedded store (or any prevalence directory); "
    "ignored when a server URL is set.",
)
@click.option(
    "--url",
    envvar="REVKV_URL",
    callback=remembered(check_url),
    metavar="URL",
    help="Work against the revkv server at URL (e.g. http://127.0.0.1:8080) instead of "
    "a directory; or $REVKV_URL, which a --data flag overrides. snapshot, check, "
    "repair, import and serve work on a local directory only.",
)
@click.option(
    "--token",
    envvar="REVKV_TOKEN",
    callback=remembered(),
    metavar="TOKEN",
    help="The bearer token to send to the --url server, or $REVKV_TOKEN.",
)
@click.option(
    "--ca-file",
    envvar="REVKV_CA_FILE",
    callback=remembered(),
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="The PEM CA certificate that signed an https:// --url server's certificate "
    "(a private CA), or $REVKV_CA_FILE; default: the system's CAs.",
)
@click.option(
    "--db",
    envvar="REVKV_DB",
    callback=remembered(check_db),
    metavar="URL",
    help="Work on the store in a PostgreSQL database (postgresql://user@host/db) instead "
    "of a directory; or $REVKV_DB.",
)
@click.option(
    "-v", "--verbose", count=True, callback=remembered(), help="Log more (-v info, -vv debug)."
)
@click.option(
    "-n",
    "--namespace",
    default="default",
    show_default=True,
    envvar="REVKV_NAMESPACE",
    callback=remembered(),
    help="The namespace of the commands that take one (or $REVKV_NAMESPACE).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    callback=remembered(),
    help="Print JSON, for the commands that can.",
)
@click.version_option(package_name="revkv")
@click.pass_context
def cli(ctx: click.Context, /, **_given: object) -> None:
    """The options are recorded by their callbacks (`revkv.cli._globals`): a command may
    still override them, so the store is chosen when the command asks for it."""
    found = recorded(ctx)
    verbose = found.value("verbose", 0) if found is not None else 0
    logging.basicConfig(level=log_level(verbose), format="%(levelname)s %(name)s: %(message)s")
    refuse_unused(ctx)


for command in (set_, get, meta, list_, history, diff, edit, delete, revert, watch, ns,
                snapshot, export, import_, check, repair, serve, db, dripline,
                stats, backup, purge, compact):  # fmt: skip
    cli.add_command(command)
share_global_options(cli)


def main(argv: list[str] | None = None) -> None:
    with present_errors():
        cli.main(args=argv, prog_name="revkv", standalone_mode=True)


if __name__ == "__main__":  # pragma: no cover
    main()
