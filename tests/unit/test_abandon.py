"""revkv._abandon: a scan whose requester is gone stops between chunks, and only then."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from revkv._abandon import ABANDON, Abandoned
from revkv._model import Commit
from revkv._service import Service
from revkv.store._select import PAGE
from revkv.store.base import Select, Window
from revkv.testing import open_service

KEYS = 3 * PAGE


@pytest.fixture(scope="module")
def service() -> Iterator[Service]:
    service = open_service(sweep_interval=None)
    for n in range(KEYS):
        service.put("many", f"k{n:05d}", b"x")
    yield service
    service.close()


def counting_select(service: Service, on_first: Any = None) -> tuple[int, BaseException | None]:
    """Select every key through a record view that counts calls (and runs `on_first`)."""
    seen = 0

    def record(commit: Commit) -> dict[str, Any]:
        nonlocal seen
        seen += 1
        if seen == 1 and on_first is not None:
            on_first()
        return {"Key": commit.key}

    try:
        service.select("many", Select(record=record), Window(count=True))
    except Abandoned as error:
        return seen, error
    return seen, None


def test_a_scan_nobody_abandons_reads_everything(service: Service) -> None:
    assert counting_select(service) == (KEYS, None)
    token = ABANDON.set(threading.Event())  # set up, but never set
    try:
        assert counting_select(service) == (KEYS, None)
    finally:
        ABANDON.reset(token)


def test_an_abandoned_scan_stops_at_the_next_chunk(service: Service) -> None:
    gone = threading.Event()
    token = ABANDON.set(gone)
    try:
        seen, error = counting_select(service, on_first=gone.set)
    finally:
        ABANDON.reset(token)
    assert isinstance(error, Abandoned)
    assert seen == PAGE  # the first chunk, no more


def test_a_scan_abandoned_before_it_starts_reads_nothing(service: Service) -> None:
    gone = threading.Event()
    gone.set()
    token = ABANDON.set(gone)
    try:
        assert counting_select(service)[0] == 0
    finally:
        ABANDON.reset(token)
