"""The broker as a door of `revkv serve`: namespaces served on the Service the HTTP server
already holds, entered in its lifespan like the dripline door.

    app_for(settings, doors=[broker_door(cfg, ["people"], state_file=...)])

The root object has one field, `data`: the exported namespaces' metas by name, so a
client reads `client.root.data["people"].get(name="joe")`. `namespaces=None` exports
every namespace: those the store has when the door opens, and each later one from its
first commit (the root is then invalidated, so clients see it in `data`).

`revkv serve --broker` calls `open(service)` itself before uvicorn starts, so that a
broker it cannot reach stops start-up with one line (as a store it cannot open does),
not with a traceback from inside the lifespan; the lifespan then only closes it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
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


class BrokerDoor:
    """Serves namespaces of one Service over the broker configured by `cfg`.

    A door (`door(service)` is an async context manager) that may also be opened ahead
    of the lifespan with `open(service)`; it is then closed when the lifespan ends.
    """

    def __init__(
        self,
        cfg: dict[str, Any],
        namespaces: Iterable[str] | None = None,
        state_file: str | os.PathLike[str] | None = None,
    ) -> None:
        self.cfg = cfg
        self.namespaces = None if namespaces is None else list(namespaces)
        self.state_file = state_file
        self.server: BrokerServer | None = None
        self.loader: RevkvLoader | None = None

    def open(self, service: Service) -> None:
        """Export the namespaces, connect to the broker and follow the store's changes.

        Raises NamespaceNotFound for a namespace the store lacks and Unreachable when
        the broker cannot be reached; nothing is left running then.
        """
        if self.server is not None:
            return
        server = BrokerServer(self.cfg)
        root = NamespacesRoot()
        server.export_object(root, "data")
        server.root = root
        root_key = server.add_static(root, "root")
        loader = RevkvLoader(service, server, self.state_file)
        names = self.namespaces
        if names is None:
            names = [namespace.name for namespace in service.namespaces()]

            def export_new(name: str) -> None:
                loader.add_namespace(name, root.data)
                server.invalidate([root_key])

            loader.on_new_namespace = export_new
        for name in names:
            loader.add_namespace(name, root.data)
        server.start()
        try:
            loader.start()
        except BaseException:
            server.stop()
            raise
        self.server, self.loader = server, loader

    def close(self) -> None:
        """Stop following the store, then stop serving (requests wait in the queue)."""
        loader, server, self.loader, self.server = self.loader, self.server, None, None
        if loader is not None:
            loader.stop()
        if server is not None:
            server.stop()

    @asynccontextmanager
    async def __call__(self, service: Service) -> AsyncIterator[None]:
        await asyncio.to_thread(self.open, service)
        try:
            yield
        finally:
            await asyncio.to_thread(self.close)


def broker_door(
    cfg: dict[str, Any],
    namespaces: Iterable[str] | None = None,
    state_file: str | os.PathLike[str] | None = None,
) -> BrokerDoor:
    """A door serving `namespaces` (default: all) of the Service over the broker `cfg`."""
    return BrokerDoor(cfg, namespaces, state_file)
