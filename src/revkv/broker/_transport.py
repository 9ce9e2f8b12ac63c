"""Transports: how requests, replies and broadcasts move. `local` and `amqp`.

Both ends speak bytes of the json codec to a transport, so the in-process `local`
transport runs the same encoding as the network: tests and embedding exercise the
wire format without a broker. A local server is found by its `rpc_queue` name in this
process; its broadcasts reach every local client of that name before the reply of the
request that caused them.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Any

from revkv.errors import Unreachable

if TYPE_CHECKING:
    from revkv.broker._client import BrokerClient
    from revkv.broker._server import BrokerServer

_LOCAL: dict[str, LocalServerTransport] = {}
_LOCAL_CLIENTS: dict[str, list[BrokerClient]] = {}  # by name: they outlive a server restart
_LOCAL_LOCK = threading.Lock()


class LocalServerTransport:
    """A server reachable in this process under its `rpc_queue` name."""

    def __init__(self, server: BrokerServer) -> None:
        self.server = server
        self.name = str(server.cfg["rpc_queue"])

    def start(self, purge: bool = False) -> None:
        with _LOCAL_LOCK:
            _LOCAL[self.name] = self

    def stop(self) -> None:
        with _LOCAL_LOCK:
            if _LOCAL.get(self.name) is self:
                del _LOCAL[self.name]

    def broadcast(self, body: bytes, msgid: int) -> None:
        for client in list(_LOCAL_CLIENTS.get(self.name, ())):
            client.on_broadcast(body, self.server.instance)

    def request(self, body: bytes) -> tuple[bytes, str]:
        broadcasts, reply = self.server.handle(body)
        for msgid, broadcast in broadcasts:
            self.broadcast(broadcast, msgid)
        return reply, self.server.instance


class LocalClientTransport:
    """A client of the local server named by its `rpc_queue` (whichever runs now)."""

    def __init__(self, client: BrokerClient) -> None:
        self.client = client
        self.name = str(client.cfg["rpc_queue"])

    def start(self) -> None:
        self._server()
        with _LOCAL_LOCK:
            _LOCAL_CLIENTS.setdefault(self.name, []).append(self.client)

    def _server(self) -> LocalServerTransport:
        with _LOCAL_LOCK:
            server = _LOCAL.get(self.name)
        if server is None:
            raise Unreachable(
                f"local broker {self.name!r}",
                "no local broker server serves it: start one in this process first",
            )
        return server

    def stop(self) -> None:
        with _LOCAL_LOCK:
            clients = _LOCAL_CLIENTS.get(self.name, [])
            if self.client in clients:
                clients.remove(self.client)
            if not clients:
                _LOCAL_CLIENTS.pop(self.name, None)

    def request(self, body: bytes, timeout: float) -> tuple[bytes, str]:
        return self._server().request(body)

    async def arequest(self, body: bytes, timeout: float) -> tuple[bytes, str]:
        """`request` for asyncio code: the server's sync request path, off the loop."""
        return await asyncio.to_thread(self.request, body, timeout)


def server_transport(server: BrokerServer) -> Any:
    kind = server.cfg["transport"]
    if kind == "local":
        return LocalServerTransport(server)
    if kind == "amqp":
        from revkv.broker._amqp import AmqpServerTransport

        return AmqpServerTransport(server)
    raise ValueError(f"transport {kind!r}: use 'local' or 'amqp'")


def client_transport(client: BrokerClient) -> Any:
    kind = client.cfg["transport"]
    if kind == "local":
        return LocalClientTransport(client)
    if kind == "amqp":
        from revkv.broker._amqp import AmqpClientTransport

        return AmqpClientTransport(client)
    raise ValueError(f"transport {kind!r}: use 'local' or 'amqp'")
