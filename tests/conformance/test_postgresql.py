"""The conformance suite on PostgreSQL: the Service over the SQL store in process, a
fresh database per test (a real server: `tests/postgres.py`); `reopen` closes the
store and opens the database again, as a restarted server would."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

import revkv
from revkv.testing.conformance import StoreTests


class TestPostgreSQL(StoreTests):
    durable = True

    @pytest.fixture
    def opened(self, pg_url: str) -> Iterator[list[revkv.Service]]:
        stores = [revkv.open(pg_url, sweep_interval=0.05)]
        yield stores
        stores[-1].close()

    @pytest.fixture
    def store(self, opened: list[revkv.Service]) -> revkv.Service:
        return opened[0]

    @pytest.fixture
    def reopen(self, opened: list[revkv.Service], pg_url: str) -> Callable[[], revkv.Service]:
        def again() -> revkv.Service:
            opened[-1].close()
            opened.append(revkv.open(pg_url, sweep_interval=0.05))
            return opened[-1]

        return again
