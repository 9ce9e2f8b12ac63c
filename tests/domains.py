"""Small domain classes for prevalence tests (module level, so pickle can find them)."""

from __future__ import annotations

from typing import Any

from revkv.prevalence import abort_exception, readonly, unlocked


class Counter:
    """A dict of values; every public method but the readonly ones is a command."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.log: list[str] = []

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value

    def delete(self, key: str) -> None:
        del self.data[key]  # raises KeyError for a missing key: journaled as raised

    def incr(self, key: str, by: int = 1) -> int:
        self.data[key] = self.data.get(key, 0) + by
        return int(self.data[key])

    def stamp(self, key: str) -> float:
        self.data[key] = self._clock.time()  # type: ignore[attr-defined]
        return float(self.data[key])

    @readonly
    def get(self, key: str) -> Any:
        return self.data.get(key)

    @readonly
    def size(self) -> int:
        return len(self.data)

    @abort_exception
    def set_positive(self, key: str, value: int) -> None:
        self.data[key] = value  # changed before the check: rollback must undo it
        self.log.append(key)
        if value <= 0:
            raise ValueError(f"{value} is not positive")

    @unlocked
    @readonly
    def peek(self, key: str) -> Any:
        return self.data.get(key)


class UsesWallClock:
    def __init__(self) -> None:
        self.when: object = None

    def touch(self) -> None:
        import datetime

        self.when = datetime.datetime.now()


class UsesTimeTime:
    def __init__(self) -> None:
        self.when = 0.0

    def touch(self) -> None:
        import time

        self.when = time.time()


class Ledger:
    """Per-writer sequences plus a total: a half-applied command would break their sum."""

    def __init__(self) -> None:
        self.entries: dict[str, list[int]] = {}
        self.total = 0

    def record(self, writer: str, n: int) -> None:
        entries = self.entries.setdefault(writer, [])
        if entries and entries[-1] != n - 1:
            raise ValueError(f"{writer}: {n} does not follow {entries[-1]}")
        entries.append(n)
        self.total += 1

    @readonly
    def next_for(self, writer: str) -> int:
        return len(self.entries.get(writer, []))
