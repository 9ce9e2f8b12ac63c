"""The flags commands share, as decorators, and opening the store for one command.

The data directory is locked by one process at a time, so every command opens the
store, does its one thing and closes it; `pass_store` does that around a command, with
the store `--data` or `--url` names (see `target`). `pass_local_store` is for the few
commands that need the embedded store itself.
"""

from __future__ import annotations

import functools
import getpass
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

import click

from revkv._service import Service
from revkv.cli._target import (
    CommandStore,
    current_target,
    local_data,
    open_database,
    open_embedded,
    open_store,
    target_or_none,
)

P = ParamSpec("P")
R = TypeVar("R")
F = TypeVar("F", bound=Callable[..., object])


def default_author() -> str | None:
    """`$USER` (or the login name), as git and Rainer's clients would sign a commit; none
    with a token, whose name the server records (a token may not sign as someone else
    unless it may act for others)."""
    target = target_or_none()
    if target is not None and target.url is not None and target.token is not None:
        return None
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


def expect_option(command: F) -> F:
    """`--expect N`: compare-and-set on the version you read (etcd's and Consul's way)."""
    return click.option(
        "--expect",
        callback=_expect,
        default=None,
        metavar="VERSION",
        help=(
            "Compare-and-set: commit only if the key is still at VERSION, the version you "
            "read (0 or 'absent': only if it does not exist; 'exists': any live version). "
            "Otherwise exit 3, change nothing, and say the current version."
        ),
    )(command)


def _expect(ctx: click.Context, param: click.Parameter, value: str | None) -> int | str | None:
    """A version read (a whole number), `absent` or `exists`."""
    if value is None or value in ("absent", "exists"):
        return value
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise click.BadParameter(
            f"{value!r} is not a version (a whole number), 'absent' or 'exists'", ctx, param
        )
    return int(text)


def author_options(command: F) -> F:
    """`--author` (default $USER) and `--comment`, recorded in the commit."""
    command = click.option(
        "-m", "--comment", default="", help="Why this change was made, kept in the history."
    )(command)
    return click.option(
        "--author",
        default=default_author,
        show_default="$USER; with --token, the token's name",
        help="Who is committing, kept in the history.",
    )(command)


def pass_store(
    *, create: bool = False
) -> Callable[[Callable[Concatenate[CommandStore, P], R]], Callable[P, R]]:
    """Call the command with the store (local or remote) as its first argument."""

    def decorate(command: Callable[Concatenate[CommandStore, P], R]) -> Callable[P, R]:
        @functools.wraps(command)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            with open_store(current_target(), create=create) as store:
                return command(store, *args, **kwargs)

        return run

    return decorate


def pass_local_store(
    why: str, *, create: bool = False
) -> Callable[[Callable[Concatenate[Service, P], R]], Callable[P, R]]:
    """Call the command with the store of --data; `why` it refuses --url (exit 2)."""

    def decorate(command: Callable[Concatenate[Service, P], R]) -> Callable[P, R]:
        @functools.wraps(command)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            target = current_target()
            if target.db is not None:
                with open_database(target.db) as store:
                    return command(store, *args, **kwargs)
            data = local_data(target, why)
            with open_embedded(data, create=create) as store:
                return command(store, *args, **kwargs)

        return run

    return decorate
