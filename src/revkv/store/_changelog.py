"""Every commit in rev order, the most recent `capacity` of them: what watchers read.

A watcher resuming from rev R needs every commit after R. Once commits up to
`compacted_through` have been dropped, a watcher at R < compacted_through cannot be
served from here and gets `Compacted` (or a reset, if it asked to resync).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator

from revkv._model import Commit


def _rev(commit: Commit) -> int:
    return commit.rev


class ChangeLog:
    __slots__ = ("_items", "capacity", "compacted_through")

    def __init__(self, capacity: int = 1_000_000) -> None:
        self.capacity = capacity
        self._items: list[Commit] = []
        self.compacted_through = 0

    def append(self, commit: Commit) -> None:
        items = self._items
        items.append(commit)
        if len(items) > self.capacity + self.capacity // 4:  # trim in bulk, amortised
            excess = len(items) - self.capacity
            self.compacted_through = items[excess - 1].rev
            del items[:excess]

    def since(self, rev: int, limit: int | None = None, upto: int | None = None) -> list[Commit]:
        """Commits with `rev < commit.rev <= upto`, oldest first.

        At most `limit`, except that the commits of one rev (a transaction) are never split.
        """
        items = self._items
        start = bisect_right(items, rev, key=_rev)
        end = len(items) if upto is None else bisect_right(items, upto, lo=start, key=_rev)
        if limit is not None and end > start + limit:
            cut = start + limit
            while cut < end and items[cut].rev == items[cut - 1].rev:
                cut += 1
            end = cut
        return items[start:end]

    def is_compacted(self, rev: int) -> bool:
        return rev < self.compacted_through

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Commit]:
        return iter(self._items)
