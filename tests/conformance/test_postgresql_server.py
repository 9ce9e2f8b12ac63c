"""The conformance suite through `revkv serve --db postgresql://...` processes: a fresh
database and server per test (started ahead by a pool), reached with `revkv.Client`;
`reopen` restarts the server on the same database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import revkv
from tests.conformance.test_client import OverHttp, ServerPool
from tests.postgres import PostgresServer
from tests.servers import RevkvServer


class DatabaseServerPool(ServerPool):
    def __init__(self, root: Path, postgres: PostgresServer) -> None:
        self._postgres = postgres
        super().__init__(root)

    def _start(self) -> RevkvServer:
        return RevkvServer(self._postgres.create_database("s")).start()


@pytest.fixture(scope="module")
def pg_pool(
    tmp_path_factory: pytest.TempPathFactory, postgres: PostgresServer
) -> Iterator[ServerPool]:
    servers = DatabaseServerPool(tmp_path_factory.mktemp("servers"), postgres)
    yield servers
    servers.close()


@pytest.fixture
def server(pg_pool: ServerPool) -> Iterator[RevkvServer]:
    running = pg_pool.take()
    yield running
    pg_pool.release(running)


class TestClientOnPostgreSQL(OverHttp):
    durable = True

    @pytest.fixture
    def opened(self, server: RevkvServer) -> Iterator[list[revkv.Client]]:
        clients = [revkv.Client(server.url)]
        yield clients
        clients[-1].close()

    @pytest.fixture
    def store(self, opened: list[revkv.Client]) -> revkv.Client:
        return opened[0]

    @pytest.fixture
    def reopen(self, opened: list[revkv.Client], server: RevkvServer) -> Callable[[], revkv.Client]:
        def again() -> revkv.Client:
            opened[-1].close()
            server.stop()
            server.start()  # the same database and port
            opened.append(revkv.Client(server.url))
            return opened[-1]

        return again
