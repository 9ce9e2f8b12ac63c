"""Requests whose cost grows with a namespace run on worker threads, not on the event loop.

A filtered listing, an OData feed or count, or Rainer's listing of a whole namespace reads
every key of it: a 1,000-term ``$filter`` over 20,000 keys takes seconds. Run on the event
loop, that froze every other client for as long (a ``/health`` waited 13 s). Here the scan
runs on a worker thread while the loop goes on answering, and the work is sliced twice
over so that no one holds what the others need:

- the store reads the keys a chunk at a time (``store._select.PAGE``), so writers get its
  lock between chunks;
- the interpreter hands the GIL back to the event loop's thread at every switch interval
  (5 ms), so a request that arrives during a scan waits a few milliseconds, not the scan.

At most ``MAX_SCANS`` scans run at once per event loop; more wait their turn, so a client
sending many expensive queries slows other scans, never the loop itself. A scan whose
client disconnects stops at its next chunk, or before it starts if it was still waiting
(``revkv._abandon``): a client that sends queries and hangs up leaves no work behind.
Threads share no state with the loop beyond the Service (thread-safe, as the embedded
engine's contract has it) and the memo caches, whose single dict operations are atomic.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable
from typing import TypeVar, TypeVarTuple, Unpack

import anyio.to_thread
from anyio import CapacityLimiter
from starlette.requests import ClientDisconnect
from starlette.types import Receive

from revkv._abandon import ABANDON, Abandoned

__all__ = ["LONG_QUERY", "MAX_SCANS", "run_off_loop", "run_scan"]

MAX_SCANS = 2
"""Scans at once per server: more threads would only share the GIL (and take it from the
event loop more often); two let one long scan not hold up every other."""

LONG_QUERY = 512
"""Characters of query options beyond which parsing them leaves the loop: a ``$filter``
at the limits takes about 9 ms to parse, and a flood of them would add up."""

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)


def _limiter() -> CapacityLimiter:
    """One limiter per event loop: anyio's primitives belong to the loop that made them."""
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = CapacityLimiter(MAX_SCANS)
    return limiter


async def run_scan(receive: Receive, function: Callable[[Unpack[Ts]], T], *args: *Ts) -> T:
    """``function(*args)`` on a worker thread; its result, or its exception, here.

    ``receive`` is the request's (a GET's: its body is empty, so nothing is lost by
    reading it here); if it says the client disconnected, the scan is abandoned and
    ``ClientDisconnect`` raised, which the app answers quietly.
    """
    gone = threading.Event()
    token = ABANDON.set(gone)
    watcher = asyncio.ensure_future(_until_disconnected(receive, gone))
    try:
        return await anyio.to_thread.run_sync(function, *args, limiter=_limiter())
    except Abandoned:
        raise ClientDisconnect from None
    finally:
        watcher.cancel()
        ABANDON.reset(token)


async def _until_disconnected(receive: Receive, gone: threading.Event) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    gone.set()


async def run_off_loop(function: Callable[[Unpack[Ts]], T], *args: *Ts) -> T:
    """``function(*args)`` on a worker thread, among the scans (for work that is short
    but not short enough for the loop, such as parsing a long expression)."""
    return await anyio.to_thread.run_sync(function, *args, limiter=_limiter())
