"""The conformance suite through the Service over the embedded backend, in memory and in
a directory (what `revkv.open` returns)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import revkv
from revkv.testing.conformance import StoreTests


class TestInMemory(StoreTests):
    @pytest.fixture
    def store(self) -> Iterator[revkv.Service]:
        with revkv.open(sweep_interval=0.05) as store:
            yield store


class TestInADirectory(StoreTests):
    durable = True

    @pytest.fixture
    def opened(self, tmp_path: Path) -> Iterator[list[revkv.Service]]:
        stores = [revkv.open(tmp_path, sweep_interval=0.05)]
        yield stores
        stores[-1].close()

    @pytest.fixture
    def store(self, opened: list[revkv.Service]) -> revkv.Service:
        return opened[0]

    @pytest.fixture
    def reopen(self, opened: list[revkv.Service], tmp_path: Path) -> Callable[[], revkv.Service]:
        def again() -> revkv.Service:
            opened[-1].close()
            opened.append(revkv.open(tmp_path, sweep_interval=0.05))
            return opened[-1]

        return again
