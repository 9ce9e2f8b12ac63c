"""The TTL sweeper: a thread that has the store record expiries as commits.

Readers already treat an expired key as absent; the sweeper makes the expiry a commit
(author `revkv`, comment `expired`) so that history and watchers see it. Each step is
the backend's `Store.sweep()`, which writes only when something is due and says when
the next expiry is; the thread sleeps until then (or `interval`, whichever is sooner),
so an idle store writes nothing. The Service owns one per store.
"""

from __future__ import annotations

import logging
import threading
import time

from revkv.store.base import Store

log = logging.getLogger(__name__)


class Sweeper:
    def __init__(self, store: Store, interval: float) -> None:
        self._store = store
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="revkv-sweeper", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            next_due = None
            try:
                expired, next_due = self._store.sweep()
                if expired:
                    log.info("expired %d key(s)", expired)
            except Exception:
                log.exception("TTL sweep failed; trying again shortly")
            self._stop.wait(self._sleep_time(next_due))

    def _sleep_time(self, next_due: float | None) -> float:
        if next_due is None:
            return self._interval
        return max(0.0, min(self._interval, next_due - time.time()))

    def stop(self) -> None:
        self._stop.set()
        if threading.current_thread() is not self._thread:
            self._thread.join()
