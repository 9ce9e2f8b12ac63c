"""revkv over the network: `Client` and `AsyncClient` (the Store interface over HTTP) and `Mirror`.

`_base.py` holds the logic once, without I/O; `sync.py` and `aio.py` drive it on
httpx; `mirror.py` keeps a local copy of a namespace from a watch.
"""

from __future__ import annotations

from revkv.client._aio import AsyncClient, AsyncWatch
from revkv.client._mirror import Mirror
from revkv.client._sync import Client, Watch

__all__ = ["AsyncClient", "AsyncWatch", "Client", "Mirror", "Watch"]
