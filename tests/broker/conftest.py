"""A real RabbitMQ node for every broker test in the session (see `tests/rabbitmq.py`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.rabbitmq import INSTALL_HINT, RabbitMQ, available


@pytest.fixture(scope="session")
def rabbitmq() -> Iterator[RabbitMQ]:
    if not available():
        pytest.skip(INSTALL_HINT)
    with RabbitMQ() as broker:
        yield broker
