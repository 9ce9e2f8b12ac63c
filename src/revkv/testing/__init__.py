"""Helpers for testing code built on revkv (shipped, like structlog.testing).

`open_service` opens a store as `revkv.open` does, with the tokens of a server
(`auth`), for testing a door or an app (`revkv.http.create_app(open_service())`);
`revkv.testing.conformance.StoreTests` checks a backend, `stateful` compares one with a
perfect model.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from revkv.testing._clocks import TestSystemMixin, enable_clock, mock_clock

if TYPE_CHECKING:
    from revkv._auth import Auth
    from revkv._service import Service

__all__ = ["TestSystemMixin", "enable_clock", "mock_clock", "open_service"]


def open_service(
    path: str | Path | None = None,
    *,
    auth: Auth | None = None,
    sweep_interval: float | None = 1.0,
    **settings: Any,
) -> Service:
    """A Service over the backend at `path` (in memory by default), with `auth`."""
    from revkv._service import Service
    from revkv.store import open_backend

    return Service(open_backend(path, **settings), auth, sweep_interval=sweep_interval)
