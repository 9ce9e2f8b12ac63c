"""How the command presents results and errors: one table of exit codes, no tracebacks."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from revkv.errors import Conflict, InvalidRequest, NotFound, RevkvError

#: Exit codes, resolved by class hierarchy (the first matching base wins).
EXIT_CODES: list[tuple[type[BaseException], int]] = [
    (NotFound, 1),
    (InvalidRequest, 2),
    (Conflict, 3),
    (RevkvError, 4),
]


def exit_code_for(error: BaseException) -> int:
    for cls, code in EXIT_CODES:
        if isinstance(error, cls):
            return code
    return 4


@contextmanager
def present_errors() -> Iterator[None]:
    """Turn revkv's errors into one line on stderr and the documented exit code."""
    try:
        yield
    except RevkvError as error:
        click.echo(f"revkv: {error}", err=True)
        sys.exit(exit_code_for(error))
    except OSError as error:
        click.echo(f"revkv: {error.strerror or error}: {error.filename or ''}".rstrip(), err=True)
        sys.exit(4)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
