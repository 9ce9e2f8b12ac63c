"""revkv over the network: `Client` and `AsyncClient` (the Store interface over HTTP) and `Mirror`.

`_base.py` holds the logic once, without I/O; `sync.py` and `aio.py` drive it on
httpx; `mirror.py` keeps a local copy of a namespace from a watch.
"""

from __future__ import annotations

from revkv.client.aio import AsyncClient, AsyncWatch
from revkv.client.mirror import Mirror
from revkv.client.sync import Client, Watch

__all__ = ["AsyncClient", "AsyncWatch", "Client", "Mirror", "Watch"]
