"""Progress of a long replay: a bar on a terminal once replay has taken a second.

Elsewhere (or for a quick replay) the log line written after opening is enough.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

SHOW_AFTER = 1.0  # seconds; a replay quicker than this needs no bar


@contextmanager
def replay_progress(total_bytes: int, wanted: bool | None) -> Iterator[Callable[[int, Any], None]]:
    """Yield `advance(records_so_far, reader)`, to be called every few thousand records."""
    show = wanted if wanted is not None else sys.stderr.isatty()
    if not show:
        yield _ignore
        return
    started = time.monotonic()
    with ExitStack() as stack:
        state: dict[str, Any] = {}

        def advance(records: int, reader: Any) -> None:
            if "bar" not in state:
                if wanted is None and time.monotonic() - started < SHOW_AFTER:
                    return
                state["bar"] = bar = stack.enter_context(_make_bar())
                state["task"] = bar.add_task("replay", total=total_bytes, records=0)
            state["bar"].update(state["task"], completed=reader.bytes_done, records=records)

        yield advance


def _make_bar() -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("replaying journal"),
        BarColumn(),
        TextColumn("{task.fields[records]:,} records"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def _ignore(records: int, reader: Any) -> None:
    return None
