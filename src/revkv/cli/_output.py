"""How the command presents results and errors.

One table of exit codes, resolved by class hierarchy; errors print one line on stderr,
never a traceback. Results are for people on a terminal (rich tables, colours, local
times) and stable text when piped: tab-separated rows without a header, times in ISO
8601 UTC, so `cut`, `sort` and `awk` can rely on them. `--json` gives the same data as
JSON in revkv's one shape of a commit (`Meta.to_dict`, `Event.to_dict`), as the server
answers it.
"""

from __future__ import annotations

import errno
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import IO, Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from revkv._model import Meta, iso_time
from revkv.errors import Conflict, InvalidRequest, NotFound, RevkvError

#: Exit codes by class; an error takes the nearest class of its MRO (as HTTP statuses).
EXIT_CODES: dict[type[BaseException], int] = {
    NotFound: 1,
    InvalidRequest: 2,
    Conflict: 3,
    RevkvError: 4,
}


def exit_code_for(error: BaseException) -> int:
    for cls in type(error).__mro__:
        code = EXIT_CODES.get(cls)
        if code is not None:
            return code
    return 4


class CommandError(click.ClickException):
    """An error as the command shows it: `revkv: message` on stderr and its exit code."""

    def __init__(self, message: str, exit_code: int = 4) -> None:
        super().__init__(message)
        vars(self)["exit_code"] = exit_code  # click declares it a ClassVar; ours varies

    @classmethod
    def of(cls, error: BaseException) -> CommandError:
        if isinstance(error, OSError):
            where = f": {error.filename}" if error.filename else ""
            return cls(f"{error.strerror or error}{where}", 4)
        return cls(str(error), exit_code_for(error))

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"revkv: {self.format_message()}", err=file is None, file=file)


@contextmanager
def translate_errors() -> Iterator[None]:
    """Raise revkv's errors (and the disk's) as `CommandError`s with the documented code.

    A broken pipe (`revkv list | head`) is left to click, which exits quietly.
    """
    try:
        yield
    except RevkvError as error:
        raise CommandError.of(error) from error
    except OSError as error:
        if error.errno == errno.EPIPE:
            raise
        raise CommandError.of(error) from error


@contextmanager
def present_errors() -> Iterator[None]:
    """Turn revkv's errors into one line on stderr and the documented exit code."""
    try:
        with translate_errors():
            yield
    except CommandError as error:
        error.show()
        sys.exit(error.exit_code)


# -- JSON ------------------------------------------------------------------------------


def emit_json(data: Any) -> None:
    """Indented JSON, its fields in the order the server writes them (`Meta.to_dict`)."""
    click.echo(json.dumps(data, indent=2, default=str))


def emit_json_line(data: Any, file: IO[str] | None = None) -> None:
    """One compact JSON object on one line (JSON Lines), flushed at once: a commit or an
    event reads as in the server's answers."""
    click.echo(json.dumps(data, separators=(",", ":"), default=str), file=file)


# -- text ------------------------------------------------------------------------------


def on_terminal() -> bool:
    """Whether stdout is a terminal (tables and colours) rather than a pipe (plain text)."""
    return sys.stdout.isatty()


def console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False)


def when(seconds: float | None, terminal: bool) -> str:
    """A time: local and to the second for people, ISO 8601 UTC for scripts."""
    if seconds is None:
        return ""
    if terminal:
        return datetime.fromtimestamp(seconds).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return iso_time(seconds)


def state_of(meta: Meta, now: float) -> str:
    if meta.deleted:
        return "deleted"
    return "expired" if meta.is_expired(now) else "live"


def print_rows(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """A table on a terminal; tab-separated lines without a header in a pipe."""
    if not on_terminal():
        for row in rows:
            click.echo("\t".join(_cell(value) for value in row))
        return
    table = Table(*columns, header_style="bold", box=None, pad_edge=False)
    for row in rows:
        table.add_row(*(_cell(value) for value in row))
    console().print(table)


def print_fields(fields: dict[str, Any]) -> None:
    """`name: value` lines, the names in bold on a terminal."""
    out = console() if on_terminal() else None
    for name, value in fields.items():
        if out is not None:
            out.print(f"[bold]{name}:[/bold] {escape(_cell(value))}", soft_wrap=True)
        else:
            click.echo(f"{name}: {_cell(value)}".rstrip())


def say(message: str, style: str = "") -> None:
    """One line of news (`committed ...`), coloured on a terminal."""
    if on_terminal() and style:
        console().print(message, style=style, markup=False, soft_wrap=True)
    else:
        click.echo(message)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).replace("\t", " ").replace("\n", " ")
