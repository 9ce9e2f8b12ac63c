"""Where a command's store is: a local data directory, or a revkv server (`--url`).

Commands take a `CommandStore` and do not care which: `open_store` opens an
store (`revkv.open`) on the directory or a `revkv.Client` on the URL. The rules, decided once
in `choose_target`, from the options given before the command or after it (the one after
wins: `revkv.cli._globals`):

- `--url` (or `$REVKV_URL`) sends every store command to that server; `--data` and
  `$REVKV_DATA` are then ignored. Flags beat the environment: `--data DIR` on the
  command line works locally even with `$REVKV_URL` set, `--url` beats `$REVKV_DATA`;
  `--data` and `--url` both on the command line is a usage error.
- `--token` (or `$REVKV_TOKEN`) goes with the URL, as a bearer token; `--token` without
  a URL is a usage error. `--ca-file` (or `$REVKV_CA_FILE`) is the CA that signed an
  https:// server's certificate, when the system's CAs did not.
- `--db URL` (or `$REVKV_DB`) names a PostgreSQL database instead of a directory: store
  commands, `import` and `serve` use it; it excludes `--url` and `--data`.
- A few commands need the directory itself (`snapshot`, `check`, `repair`, `import`,
  `serve`): `local_data` refuses a URL for them with exit 2.

Over the network, a server that cannot be reached is one line and exit 4, never a
traceback; so is a refused token (the server's message, exit 4).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import click
import httpx
from click.core import ParameterSource

import revkv
from revkv._api import StoreAPI
from revkv._model import Event
from revkv._service import Service
from revkv.cli._globals import Globals, recorded
from revkv.cli._output import CommandError, translate_errors
from revkv.errors import InvalidRequest, Unauthorized, Unreachable

URL_EXAMPLE = "http://127.0.0.1:8080"


class Watching(Protocol):
    """A live watch of either store: `next(timeout)` until it returns None, then `close()`."""

    def next(self, timeout: float | None = None) -> Event | None: ...
    def close(self) -> None: ...


class CommandStore(StoreAPI, Protocol):
    """What both the local store (`revkv.open`) and `revkv.Client` offer: `StoreAPI`
    plus `watch`."""

    def watch(
        self,
        since_rev: int | None = None,
        *,
        namespace: str | None = None,
        prefix: str | None = None,
        resync: bool = False,
    ) -> Watching: ...


@dataclass(frozen=True)
class Target:
    """The store the commands of one `revkv` run use: `url` if set, else `data`."""

    data: Path
    url: str | None = None
    token: str | None = None
    url_from: Literal["--url", "REVKV_URL"] | None = None  # how the URL was given
    db: str | None = None  # a postgresql:// URL, instead of the directory
    ca_file: Path | None = None  # the CA of an https:// server's certificate


def check_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A click callback: an http(s) URL with a host, without its trailing slash."""
    if value is None:
        return None
    given = repr(value)
    if param.name and ctx.get_parameter_source(param.name) == ParameterSource.ENVIRONMENT:
        given = f"$REVKV_URL={value!r}"
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL as error:
        raise click.BadParameter(f"{given} is not a URL: {error}", ctx, param) from None
    if url.scheme not in ("http", "https") or not url.host:
        raise click.BadParameter(
            f"{given} is not an http:// or https:// URL (e.g. {URL_EXAMPLE})", ctx, param
        )
    return value.rstrip("/")


def check_db(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A click callback: a postgresql:// URL."""
    if not value:
        return None
    if not value.startswith(("postgresql:", "postgresql+", "postgres:")):
        raise click.BadParameter(
            f"{value!r} is not a PostgreSQL URL (e.g. postgresql://revkv@localhost/revkv)",
            ctx,
            param,
        )
    try:
        from revkv.store._sql import engine_url
    except ImportError:  # no postgresql extra: opening the store says what to install
        return value
    try:
        engine_url(value)  # a port that is no number, say: a usage error, not a traceback
    except InvalidRequest as error:
        raise click.BadParameter(str(error), ctx, param) from None
    return value


def choose_target(given: Globals) -> Target:
    """The run's `--data`, `--url`, `--token`, `--db` and `--ca-file` (before or after the
    command, or from their variables), checked against each other."""
    data: Path = given.value("data", Path("revkv-data"))
    url: str | None = given.value("url")
    token: str | None = given.value("token")
    db: str | None = given.value("db")
    data_given = given.on_command_line("data")
    url_given = given.on_command_line("url")
    if data_given and url_given:
        raise click.UsageError("give --data (a local store) or --url (a server), not both")
    if db is not None:
        if url_given or data_given:
            other = "--url" if url_given else "--data"
            raise click.UsageError(f"give --db (a database) or {other}, not both")
        if given.on_command_line("db") or url is None:
            return Target(data, db=db)
    if data_given:
        url = None  # the flag beats $REVKV_URL
    if url is None:
        if given.on_command_line("token"):
            raise click.UsageError("--token goes with --url: a local store takes no token")
        return Target(data)
    via: Literal["--url", "REVKV_URL"] = "--url" if url_given else "REVKV_URL"
    return Target(data, url, token or None, via, ca_file=given.value("ca_file"))


def current_target() -> Target:
    """The store of this run, from the global options given so far (a command's own,
    after its name, were parsed before its body runs)."""
    target = target_or_none()
    if target is None:  # a command invoked without the group
        raise click.UsageError("run this command as `revkv COMMAND`")
    return target


def target_or_none() -> Target | None:
    given = recorded()
    return None if given is None else choose_target(given)


def local_data(target: Target, why: str) -> Path:
    """The data directory of a command that needs one; a usage error with a URL."""
    if target.url is None:
        return target.data
    ctx = click.get_current_context()
    via = "--url" if target.url_from == "--url" else "$REVKV_URL"
    raise click.UsageError(
        f"`revkv {ctx.info_name}` works on a local directory only ({why}), not against a "
        f"server ({via} {target.url}); pass --data DIR",
        ctx,
    )


# -- opening ---------------------------------------------------------------------------


@contextmanager
def open_store(target: Target, *, create: bool = False) -> Iterator[CommandStore]:
    """The target's store, closed afterwards; revkv's errors become exit codes."""
    if target.db is not None:
        with open_database(target.db) as service:
            yield service
    elif target.url is None:
        with open_embedded(target.data, create=create) as store:
            yield store
    else:
        with open_client(target.url, target.token, target.ca_file) as client:
            yield client


@contextmanager
def open_embedded(data: Path, *, create: bool = False) -> Iterator[Service]:
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


@contextmanager
def open_database(url: str) -> Iterator[Service]:
    """The store in the PostgreSQL database at `url`, closed afterwards."""
    with translate_errors():
        store = revkv.open(url)
        try:
            yield store
        finally:
            store.close()


@contextmanager
def open_client(url: str, token: str | None, ca_file: Path | None = None) -> Iterator[revkv.Client]:
    """A client of the server at `url`, closed afterwards (with its watches).

    Nothing is sent until the command's first call, so an unreachable server shows up
    there, and becomes one line (exit 4).
    """
    with translate_errors():  # an unreadable --ca-file: one line, exit 2
        client = revkv.Client(url, token, verify=ca_file or True)
    try:
        with translate_errors():
            try:
                yield client
            except Unreachable as error:
                raise CommandError(str(error), 4) from error
            except Unauthorized as error:
                hint = "pass --token TOKEN or set REVKV_TOKEN"
                if token is not None:
                    hint = "check --token (or $REVKV_TOKEN)"
                raise CommandError(f"{url}: {error}; {hint}", 4) from error
    finally:
        client.close()
