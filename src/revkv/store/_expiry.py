"""When keys expire: a heap of (expires, namespace, key), checked lazily.

An entry is pushed for every write that sets an expiry and never removed early; when it
comes due, it counts only if it still describes the key's newest version.
"""

from __future__ import annotations

import heapq


class ExpiryQueue:
    __slots__ = ("_heap",)

    def __init__(self) -> None:
        self._heap: list[tuple[float, str, str]] = []

    def push(self, expires: float, namespace: str, key: str) -> None:
        heapq.heappush(self._heap, (expires, namespace, key))

    def next_due(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> list[tuple[float, str, str]]:
        due = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            due.append(heapq.heappop(heap))
        return due

    def __len__(self) -> int:
        return len(self._heap)
