"""The `revkv` command.

Exit codes: 0 ok, 1 not found, 2 usage, 3 conflict, 4 any other error.

This module stays light: `main` imports the commands (a second on a busy machine) with
SIGINT and SIGTERM caught, so Ctrl-C while they load is a quiet stop, not a traceback.
What comes before `main` runs (the interpreter's start, `import revkv`: a tenth of a
second) still meets Python's default handlers; closing that window too would take a
console script outside the package.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from revkv.cli._main import cli

__all__ = ["cli", "main"]


def main(argv: list[str] | None = None) -> None:
    """The console script. A stop asked for while the commands load exits at once:
    0 for `revkv serve` (a server stopped as asked, which `make serve` must not report
    as an error), 128 + the signal for the others; `revkv serve` keeps that handler
    until it takes the signals over itself (`revkv.cli._serve.run`)."""
    args = sys.argv[1:] if argv is None else argv
    with _quiet_stop(serving="serve" in args):
        from revkv.cli._main import main as run_command
    run_command(argv)


@contextmanager
def _quiet_stop(serving: bool) -> Iterator[None]:
    def stop(sig: int, frame: FrameType | None) -> None:
        raise SystemExit(0 if serving else 128 + sig)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    if not serving:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def __getattr__(name: str) -> Any:
    """`from revkv.cli import cli`, imported when asked for (see the module docstring)."""
    if name == "cli":
        from revkv.cli._main import cli

        return cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
