"""Clocks: the time a command sees, and the clocks tests use instead.

A prevalent system must not read the wall clock inside its commands: replaying the
journal would give other times and so another state. Each command is journaled with the
time it was executed, and `self._clock` returns that time, live and on replay alike.
"""

from __future__ import annotations

import time as _time
from datetime import UTC, date, datetime, tzinfo
from typing import Any, Protocol, runtime_checkable

__all__ = ["Clock", "CommandClock", "FixedClock", "WallClock"]


@runtime_checkable
class Clock(Protocol):
    """What `self._clock` offers a domain object (coopy's names, plus `time()`)."""

    def now(self, tz: tzinfo | None = None) -> datetime: ...
    def utcnow(self) -> datetime: ...
    def today(self) -> date: ...
    def time(self) -> float: ...


class CommandClock:
    """The time of the command being executed, as recorded in its journal record.

    `seq` is the command's journal seq, which a store uses as its revision: replay gives
    every command the seq it had. It never pickles either: a snapshot must not carry one
    command's time into the next.
    """

    __slots__ = ("_ts", "seq")

    def __init__(self, ts: float = 0.0) -> None:
        self._ts = ts
        self.seq = 0

    def set(self, ts: float) -> None:
        self._ts = ts

    def time(self) -> float:
        return self._ts

    def now(self, tz: tzinfo | None = None) -> datetime:
        return datetime.fromtimestamp(self._ts, tz)

    def utcnow(self) -> datetime:
        return datetime.fromtimestamp(self._ts, UTC).replace(tzinfo=None)

    def today(self) -> date:
        return date.fromtimestamp(self._ts)

    def __reduce__(self) -> tuple[Any, ...]:
        return (CommandClock, ())

    def __repr__(self) -> str:
        return f"CommandClock({self.now().isoformat()})"


class WallClock:
    """The real time, for exercising a domain object directly in a test (no journal)."""

    __slots__ = ()

    def time(self) -> float:
        return _time.time()

    def now(self, tz: tzinfo | None = None) -> datetime:
        return datetime.now(tz)

    def utcnow(self) -> datetime:
        return datetime.now(UTC).replace(tzinfo=None)

    def today(self) -> date:
        return date.today()

    def __reduce__(self) -> tuple[Any, ...]:
        return (WallClock, ())


class FixedClock:
    """Always the same moment (coopy's `mock_clock`); `advance()` moves it on."""

    __slots__ = ("_dt",)

    def __init__(self, moment: datetime) -> None:
        self._dt = moment

    def advance(self, seconds: float) -> None:
        from datetime import timedelta

        self._dt += timedelta(seconds=seconds)

    def time(self) -> float:
        return self._dt.timestamp()

    def now(self, tz: tzinfo | None = None) -> datetime:
        if tz is None:
            return self._dt
        if self._dt.tzinfo is None:
            return self._dt.replace(tzinfo=tz)
        return self._dt.astimezone(tz)

    def utcnow(self) -> datetime:
        if self._dt.tzinfo is None:
            return self._dt
        return self._dt.astimezone(UTC).replace(tzinfo=None)

    def today(self) -> date:
        return self._dt.date()
