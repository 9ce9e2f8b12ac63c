"""Every commit in rev order, the most recent of them: what watchers read.

The log holds references to the very `Commit` objects the keyspaces hold, never copies
of their payloads; it keeps alone only the versions retention has since dropped. It is
bounded twice: at most `capacity` entries and about `max_bytes` bytes (each entry
counted as `ENTRY_BYTES` plus its payload, whether or not a keyspace shares it), and is
trimmed from the old end in bulk, a quarter over either bound, so the cost is amortised.

A watcher resuming from rev R needs every commit after R. Once commits up to
`compacted_through` have been dropped, a watcher at R < compacted_through cannot be
served from here and gets `Compacted` (or a reset, if it asked to resync).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator

from revkv._model import Commit

#: what an entry costs besides its payload: the list slot and the Commit's fields
ENTRY_BYTES = 120
DEFAULT_MAX_BYTES = 512 * 1024 * 1024


def _rev(commit: Commit) -> int:
    return commit.rev


class ChangeLog:
    __slots__ = ("_items", "capacity", "compacted_through", "max_bytes", "size")

    def __init__(self, capacity: int = 1_000_000, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.capacity = capacity
        self.max_bytes = max_bytes
        self._items: list[Commit] = []
        self.compacted_through = 0
        #: the bytes the entries count for (see the module docstring)
        self.size = 0

    def append(self, commit: Commit) -> None:
        items = self._items
        items.append(commit)
        self.size += ENTRY_BYTES + len(commit.payload)
        if len(items) > self.capacity + self.capacity // 4 or (
            self.size > self.max_bytes + self.max_bytes // 4
        ):
            self.trim()

    def trim(self) -> None:
        """Drop the oldest entries until both bounds hold."""
        items = self._items
        excess = max(0, len(items) - self.capacity)
        size = self.size - sum(ENTRY_BYTES + len(c.payload) for c in items[:excess])
        while size > self.max_bytes and excess < len(items):
            size -= ENTRY_BYTES + len(items[excess].payload)
            excess += 1
        if excess:
            self.compacted_through = items[excess - 1].rev
            del items[:excess]
            self.size = size

    def load(self, items: list[Commit], compacted_through: int) -> None:
        """Take the entries of a snapshot."""
        self._items = items
        self.compacted_through = compacted_through
        self.size = ENTRY_BYTES * len(items) + sum(len(c.payload) for c in items)

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

    def replace(self, old: Commit, new: Commit) -> None:
        """Put `new` where `old` is (same rev), if the log still holds it: a purge
        leaves no reference to the payload it removed."""
        items = self._items
        index = bisect_left(items, old.rev, key=_rev)
        while index < len(items) and items[index].rev == old.rev:
            if items[index] is old:
                items[index] = new
                self.size += len(new.payload) - len(old.payload)
                return
            index += 1

    def is_compacted(self, rev: int) -> bool:
        return rev < self.compacted_through

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Commit]:
        return iter(self._items)
