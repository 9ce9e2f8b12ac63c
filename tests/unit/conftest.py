"""Fixtures the HTTP and OData unit tests share: a fresh in-memory Service per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from revkv._service import Service
from revkv.testing import open_service


@pytest.fixture
def service() -> Iterator[Service]:
    service = open_service()
    yield service
    service.close()
