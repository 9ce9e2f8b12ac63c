"""The `revkv` group: global options, error presentation, and the commands' registration."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click

from revkv.cli.admin import check, repair
from revkv.cli.output import present_errors
from revkv.cli.serve import serve

HELP = """revkv: a versioned key-value and object store. Every write is a commit.

\b
Exit codes:
  0  ok
  1  not found
  2  usage error
  3  conflict (someone else wrote first; read again and retry)
  4  any other error
"""


@click.group(help=HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    default=lambda: os.environ.get("REVKV_DATA", "revkv-data"),
    show_default="./revkv-data, or $REVKV_DATA",
    help="The data directory of an embedded store (or any prevalence directory).",
)
@click.option("-v", "--verbose", count=True, help="Log more (-v info, -vv debug).")
@click.version_option(package_name="revkv")
@click.pass_context
def cli(ctx: click.Context, data: Path, verbose: int) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = {"data": data}


cli.add_command(serve)
cli.add_command(check)
cli.add_command(repair)


def main(argv: list[str] | None = None) -> None:
    with present_errors():
        cli.main(args=argv, prog_name="revkv", standalone_mode=True)


if __name__ == "__main__":  # pragma: no cover
    main()
