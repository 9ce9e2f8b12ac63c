"""Fixtures the HTTP and OData unit tests share: a fresh in-memory Service per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import revkv
from revkv.service import Service


@pytest.fixture
def service() -> Iterator[Service]:
    service = Service(revkv.open())
    yield service
    service.close()
