"""Clocks for exercising a domain object directly, without a journal (coopy's test utils).

A prevalent system injects `self._clock`; a domain object built in a plain unit test
has none. Give it a real clock, or one frozen at a chosen moment.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from revkv._clock import FixedClock, WallClock


def enable_clock(domain: Any) -> WallClock:
    """Give `domain` a clock that reads the real time."""
    clock = WallClock()
    domain._clock = clock
    return clock


def mock_clock(domain: Any, moment: datetime) -> FixedClock:
    """Give `domain` a clock stuck at `moment` (`advance(seconds)` moves it)."""
    clock = FixedClock(moment)
    domain._clock = clock
    return clock


class TestSystemMixin:
    """coopy's `TestSystemMixin`: mix into a TestCase for `self.mock_clock(...)`."""

    __test__ = False  # not a test class itself

    def mock_clock(self, domain: Any, mocked_date: datetime) -> FixedClock:
        return mock_clock(domain, mocked_date)

    def enable_clock(self, domain: Any) -> WallClock:
        return enable_clock(domain)
