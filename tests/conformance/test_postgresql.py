"""The conformance suite on PostgreSQL: the Service over the SQL store in process, a
fresh database per test (a real server: `tests/postgres.py`); `reopen` closes the
store and opens the database again, as a restarted server would."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

import revkv
from revkv._model import Put
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


def test_a_write_records_an_unswept_expiry_first(pg_url: str) -> None:
    """With no sweeper, the write itself records the expiry tombstone, then its own
    version after it, in one transaction (so on a server whose sweeper is slower)."""
    with revkv.open(pg_url, sweep_interval=None) as store:
        store.put("ns", "t", b"x", ttl=0.1)
        store.put("ns", "other", b"x", ttl=0.1)
        time.sleep(0.3)
        assert store.put("ns", "t", b"y", expect=2).version == 3
        result = store.txn([], [Put(namespace="ns", key="other", payload=b"z")])
        assert [m.version for m in result.commits] == [2, 3]
        history = store.history("ns", "t").items
        assert [(m.version, m.deleted, m.author) for m in history] == [
            (3, False, ""),
            (2, True, "revkv"),
            (1, False, ""),
        ]
        assert history[0].rev == history[1].rev  # one commit: the expiry and the write
