"""The journal of an in-memory system: it counts seqs and forgets the records.

Every record is "durable" the moment it is appended, so listeners hear of it at once.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future


class MemoryJournal:
    def __init__(self, on_durable: Callable[[int], None] | None = None) -> None:
        self._seq = 0
        self._on_durable = on_durable
        self.stats: dict[str, float] = {}

    @property
    def durable_seq(self) -> int:
        return self._seq

    @property
    def failed(self) -> None:
        return None

    @property
    def last_seq(self) -> int:
        return self._seq

    def append(self, body: bytes) -> int:
        self._seq += 1
        if self._on_durable is not None:
            self._on_durable(self._seq)
        return self._seq

    def adopt(self, seq: int) -> None:
        """Continue from `seq` (a replica applying its primary's records)."""
        self._seq = seq
        if self._on_durable is not None:
            self._on_durable(seq)

    def sync(self, seq: int) -> None:
        return None

    def future(self, seq: int) -> Future[None]:
        fut: Future[None] = Future()
        fut.set_result(None)
        return fut

    def flush(self) -> None:
        return None

    def roll(self) -> int:
        return self._seq + 1

    def flush_soon(self, seq: int) -> None:
        return None

    def close(self) -> None:
        return None
