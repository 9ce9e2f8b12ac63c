"""The broker as a door of `revkv serve`: namespaces served on the Service the HTTP server
already holds, entered in its lifespan like the dripline door.

    app_for(settings, doors=[broker_door(cfg, ["people"], state_file=...)])

The root object has one field, `data`: the exported namespaces' metas by name, so a
client reads `client.root.data["people"].get(name="joe")`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any

from revkv.broker._model import BaseObj
from revkv.broker._revkv import RevkvLoader
from revkv.broker._server import BrokerServer

if TYPE_CHECKING:
    from revkv._service import Service


class NamespacesRoot(BaseObj):
    """The root object of a namespace broker: `data` holds the namespaces' metas."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}


def broker_door(
    cfg: dict[str, Any],
    namespaces: Iterable[str],
    state_file: str | os.PathLike[str] | None = None,
) -> Callable[[Service], AbstractAsyncContextManager[None]]:
    """A door serving `namespaces` of the Service over the broker configured by `cfg`."""
    names = list(namespaces)

    @asynccontextmanager
    async def door(service: Service) -> AsyncIterator[None]:
        broker = BrokerServer(cfg)
        root = NamespacesRoot()
        broker.export_object(root, "data")
        broker.root = root
        loader = RevkvLoader(service, broker, state_file)
        for name in names:
            loader.add_namespace(name, root.data)
        await asyncio.to_thread(broker.start)
        loader.start()
        try:
            yield
        finally:
            loader.stop()
            await asyncio.to_thread(broker.stop)

    return door
