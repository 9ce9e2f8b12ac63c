"""The flags commands share, as decorators, and opening the store for one command.

The data directory is locked by one process at a time, so every command opens the
store, does its one thing and closes it; `pass_store` does that around a command.
"""

from __future__ import annotations

import functools
import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

import click

import revkv
from revkv.cli.output import translate_errors
from revkv.store.embedded import EmbeddedStore

P = ParamSpec("P")
R = TypeVar("R")
F = TypeVar("F", bound=Callable[..., object])


def default_author() -> str:
    """`$USER` (or the login name), as git and Rainer's clients would sign a commit."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no $USER and no passwd entry (a bare container)
        return ""


namespace_option = click.option(
    "-n",
    "--namespace",
    default="default",
    show_default=True,
    envvar="REVKV_NAMESPACE",
    help="The namespace of the key (or $REVKV_NAMESPACE).",
)

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print JSON (the fields of `revkv meta --json`)."
)


def version_option(help: str) -> Callable[[F], F]:
    return click.option("--version", type=click.IntRange(min=1), default=None, help=help)


CAS_HELP = (
    "Compare-and-set: commit only if this is the current version + 1 "
    "(else exit 3 and change nothing)."
)


def author_options(command: F) -> F:
    """`--author` (default $USER) and `--comment`, recorded in the commit."""
    command = click.option(
        "-m", "--comment", default="", help="Why this change was made, kept in the history."
    )(command)
    return click.option(
        "--author",
        default=default_author,
        show_default="$USER",
        help="Who is committing, kept in the history.",
    )(command)


def data_directory() -> Path:
    data: Path = click.get_current_context().obj["data"]
    return data


@contextmanager
def open_store(data: Path, *, create: bool = False) -> Iterator[EmbeddedStore]:
    """The store in `data`, closed afterwards; revkv's errors become exit codes.

    Only writes create a store: reading a directory that does not exist is a usage
    error (most likely a mistyped --data), not an empty store.
    """
    if not create and not data.is_dir():
        raise click.UsageError(
            f"there is no store at {data}; pass --data DIR or set REVKV_DATA "
            "(a store is created by its first write)"
        )
    with translate_errors():
        store = revkv.open(data)
        try:
            yield store
        finally:
            store.close()


def pass_store(
    *, create: bool = False
) -> Callable[[Callable[Concatenate[EmbeddedStore, P], R]], Callable[P, R]]:
    """Call the command with the opened store as its first argument."""

    def decorate(command: Callable[Concatenate[EmbeddedStore, P], R]) -> Callable[P, R]:
        @functools.wraps(command)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            with open_store(data_directory(), create=create) as store:
                return command(store, *args, **kwargs)

        return run

    return decorate
