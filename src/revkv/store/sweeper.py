"""The TTL sweeper: records the tombstones of expired keys, and applies age retention.

Readers already treat an expired key as absent; the sweeper makes the expiry a commit
(author `revkv`, comment `expired`) so that history and watchers see it. It sleeps until
the next expiry is due (or `interval`, whichever is sooner) and runs the `sweep` command
only when something is due, so an idle store journals nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from revkv.store.embedded import EmbeddedStore

log = logging.getLogger(__name__)

PRUNE_EVERY = 60.0  # seconds between applications of age retention


class Sweeper:
    def __init__(self, store: EmbeddedStore, interval: float) -> None:
        self._store = store
        self._interval = interval
        self._stop = threading.Event()
        self._last_prune = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="revkv-sweeper", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._once()
            except Exception:
                log.exception("TTL sweep failed; trying again shortly")
            self._stop.wait(self._sleep_time())

    def _once(self) -> None:
        state = self._store._state
        due = state.expiry.next_due()
        prune = time.monotonic() - self._last_prune >= PRUNE_EVERY and any(
            ks.settings.keep_seconds is not None for ks in list(state.namespaces.values())
        )
        if (due is not None and due <= time.time()) or prune:
            expired = self._store._execute("sweep", (prune,))
            if prune:
                self._last_prune = time.monotonic()
            if expired:
                log.info("expired %d key(s)", expired)

    def _sleep_time(self) -> float:
        due = self._store._state.expiry.next_due()
        if due is None:
            return self._interval
        return max(0.0, min(self._interval, due - time.time()))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
