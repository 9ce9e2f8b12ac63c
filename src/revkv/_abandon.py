"""Scans that nobody waits for any more stop between chunks.

A door runs a long scan for a client (a filtered listing, an OData feed); if the client
goes away meanwhile, the rest of the scan is wasted work that queues ahead of everyone
else's. The door knows when its client is gone, the store knows where a scan can stop:
they meet here. The door sets `ABANDON` to an event around the scan and sets the event
when its client disconnects; a backend that reads keys a chunk at a time calls
`check_abandoned()` between chunks. The variable is a context variable, so it follows the
scan onto the worker thread that runs it (anyio copies the context), and a scan run by
anyone else (the Python API, the CLI) is never abandoned.
"""

from __future__ import annotations

import threading
from contextvars import ContextVar

__all__ = ["ABANDON", "Abandoned", "check_abandoned"]

ABANDON: ContextVar[threading.Event | None] = ContextVar("revkv_abandon", default=None)


class Abandoned(Exception):
    """The scan stopped early: whoever asked for it is gone. Not a `RevkvError`: no one is
    left to answer, and the door that set `ABANDON` catches it."""


def check_abandoned() -> None:
    """Raise `Abandoned` if the scan running here is no longer wanted."""
    event = ABANDON.get()
    if event is not None and event.is_set():
        raise Abandoned
