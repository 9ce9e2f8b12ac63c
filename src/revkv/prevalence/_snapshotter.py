"""Automatic snapshots, every N commands or every T seconds, on a thread of their own.

The command that reaches N only sets an event: no writer ever waits for a snapshot
file to be written.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

log = logging.getLogger(__name__)


class _Snapshottable(Protocol):
    def take_snapshot(self) -> object: ...


class Snapshotter:
    def __init__(self, system: _Snapshottable, every: int | None, interval: float | None) -> None:
        self._system = system
        self._every = every
        self._interval = interval
        self._count = 0
        self._requested = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if (self._every or self._interval) and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="revkv-snapshots", daemon=True)
            self._thread.start()

    def set_interval(self, seconds: float) -> None:
        """Snapshot every `seconds` (0 turns the timer off); the timer restarts now."""
        self._interval = seconds if seconds > 0 else None
        self.start()
        self._wake.set()

    def command_done(self) -> None:
        if self._every:
            self._count += 1
            if self._count >= self._every:
                self._count = 0
                self._requested = True
                self._wake.set()

    def _run(self) -> None:
        while True:
            fired = self._wake.wait(timeout=self._interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            if self._requested or not fired:
                self._requested = False
                try:
                    self._system.take_snapshot()
                except Exception:
                    log.exception("automatic snapshot failed; will try again")

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
