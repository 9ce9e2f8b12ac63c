"""The SQL store against the perfect model (`revkv.testing.stateful`), with restarts:
each example gets a fresh database of the test PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings

import revkv
from revkv.testing.stateful import StoreMachine
from tests.postgres import PostgresServer

SERVER: list[PostgresServer] = []


@pytest.fixture(autouse=True)
def _postgres(postgres: PostgresServer) -> Iterator[None]:
    SERVER.append(postgres)
    yield
    SERVER.clear()


class PostgreSQLMachine(StoreMachine):
    durable = True

    def open_store(self) -> Any:
        self.url = SERVER[0].create_database("m")
        return revkv.open(self.url, sweep_interval=None)

    def reopen(self) -> Any:
        self.store.close()
        return revkv.open(self.url, sweep_interval=None)


PostgreSQLMachine.TestCase.settings = settings(
    max_examples=25, stateful_step_count=30, deadline=None
)
TestPostgreSQL = PostgreSQLMachine.TestCase
