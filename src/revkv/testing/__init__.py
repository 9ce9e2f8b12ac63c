"""Helpers for testing code built on revkv (shipped, like structlog.testing)."""

from __future__ import annotations

from revkv.testing.clocks import TestSystemMixin, enable_clock, mock_clock

__all__ = ["TestSystemMixin", "enable_clock", "mock_clock"]
