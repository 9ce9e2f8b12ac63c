"""Fixtures every test folder may use: a real PostgreSQL and a real RabbitMQ, each
started once per run.

`postgres` starts the cluster at the first test that asks (see `tests/postgres.py`)
and stops it at the end; `pg_url` is a fresh, empty database for one test.
`rabbitmq` is one RabbitMQ node (see `tests/rabbitmq.py`) shared by every suite that
needs one (tests/dripline, tests/broker): a second node would cost a core for a minute.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.postgres import PostgresServer, required, unavailable_reason
from tests.rabbitmq import INSTALL_HINT, RabbitMQ, available


def _started_postgres() -> PostgresServer:
    """A new cluster, or the test skipped with how to install PostgreSQL (failed when
    REVKV_REQUIRE_POSTGRES says it must run)."""
    reason = unavailable_reason()
    if reason is not None:
        if required():
            pytest.fail(f"REVKV_REQUIRE_POSTGRES is set but {reason}")
        pytest.skip(reason)
    return PostgresServer.start()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = _started_postgres()
    yield server
    server.stop()


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A cluster of the test's own, which it may stop and restart."""
    server = _started_postgres()
    yield server
    server.stop()


@pytest.fixture
def pg_url(postgres: PostgresServer) -> str:
    return postgres.create_database()


@pytest.fixture(scope="session")
def rabbitmq() -> Iterator[RabbitMQ]:
    if not available():
        pytest.skip(INSTALL_HINT)
    with RabbitMQ() as broker:
        yield broker
