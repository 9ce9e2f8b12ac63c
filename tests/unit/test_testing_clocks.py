"""The clocks shipped for testing domain objects directly."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from revkv.testing import TestSystemMixin, enable_clock, mock_clock
from tests.domains import Counter


def test_mock_clock_freezes_time() -> None:
    counter = Counter()
    moment = datetime(2024, 2, 29, 12, 0, 0)
    clock = mock_clock(counter, moment)
    assert counter.stamp("t") == moment.timestamp()
    assert clock.now() == moment
    assert clock.today() == date(2024, 2, 29)
    clock.advance(60)
    assert clock.now() == moment + timedelta(minutes=1)


def test_enable_clock_reads_the_real_time() -> None:
    counter = Counter()
    enable_clock(counter)
    before = datetime.now().timestamp()
    assert counter.stamp("t") >= before


def test_the_coopy_mixin() -> None:
    mixin = TestSystemMixin()
    counter = Counter()
    mixin.mock_clock(counter, datetime(2020, 1, 1))
    assert counter.stamp("t") == datetime(2020, 1, 1).timestamp()
    mixin.enable_clock(counter)
    assert counter.stamp("t") > datetime(2020, 1, 1).timestamp()
