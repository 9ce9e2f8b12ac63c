"""`Main`: run a broker program and take it down cleanly on SIGINT/SIGTERM or at its end.

DaBroker's `dabroker.util.thread.Main`: override `setup` (start the server), `main`
(usually `self.shutting_down.wait()`), `stop` (tell extra work to end) and `cleanup`
(stop the server). `run()` calls them in that order, whatever happens in between:
a signal sets `shutting_down`, `stop` and `cleanup` still run, and the previous signal
handlers come back afterwards. The broker's threads are daemons, so a program that
forgets `cleanup` still exits; `cleanup` is what makes the exit clean.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Main:
    """A program's life: setup → main → stop → cleanup, signals ending `main`."""

    def __init__(self) -> None:
        self.shutting_down = threading.Event()
        #: the signal that ended the program, if one did
        self.signal: int | None = None

    def setup(self) -> None:
        """Start what the program runs (a `BrokerServer`, say)."""

    def main(self) -> None:
        """The program's work; by default, wait for a signal."""
        self.shutting_down.wait()

    def stop(self) -> None:
        """Tell work started in `setup` or `main` to end."""

    def cleanup(self) -> None:
        """Release what `setup` took (`broker.stop()`)."""

    def shutdown(self, signum: int | None = None) -> None:
        """End `main` (from a signal handler or another thread)."""
        self.signal = signum
        self.shutting_down.set()

    def run(self) -> None:
        """Run the program; handles SIGINT and SIGTERM when called in the main thread."""
        previous = self._install()
        try:
            self.setup()
            self.main()
        finally:
            self.shutting_down.set()
            try:
                self.stop()
            finally:
                self.cleanup()
                self._restore(previous)

    def _install(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}
        previous: dict[int, Any] = {}
        for signum in SIGNALS:
            previous[signum] = signal.signal(signum, self._on_signal)
        return previous

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: shutting down", signum)
        self.shutdown(signum)

    def _restore(self, previous: dict[int, Any]) -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
