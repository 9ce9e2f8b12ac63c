"""The AMQP transport, as DaBroker's 2014 server and client set up RabbitMQ.

    queue     dab_queue (cfg rpc_queue): durable=false, auto_delete=false, exclusive=false;
              servers consume it with prefetch 1 and ack after the reply (several servers
              share it: RabbitMQ hands each request to one)
    exchange  dab_alert (cfg rpc_exchange): fanout, durable=false, auto_delete=false
              (DaBroker's client declares it so too: a durable one makes it fail, 406)
    request   exchange "", routing key dab_queue, content_type application/x-dab-json,
              correlation_id "1", "2", … per client, reply_to its exclusive reply queue
    reply     to reply_to, same correlation_id, content_type (DaBroker's client dies on
              a reply without it), app_id = the server's instance id
    broadcast exchange dab_alert, routing key dab_info, correlation_id "-N", app_id;
              published before the reply of the request that caused it. Every client,
              and every server (to apply its peers' updates), binds an exclusive queue.

aio-pika on both ends, each on its own event loop in a daemon thread: the server's
request path is plain synchronous code (user objects, SQLAlchemy) run on that loop
one request at a time (prefetch 1 serialises them anyway), and the sync client's
threads hand their requests to the loop and wait on a future, so sixteen threads share
one connection. Publisher confirms are off: replies and broadcasts are transient.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import logging
import threading
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlsplit

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractIncomingMessage

from revkv.broker._codec import CONTENT_TYPE
from revkv.errors import MalformedMessage, TimedOut, Unreachable

if TYPE_CHECKING:
    from revkv.broker._client import BrokerClient
    from revkv.broker._server import BrokerServer

log = logging.getLogger(__name__)

T = TypeVar("T")
CONNECT_TIMEOUT = 10.0
ROUTING_INFO = "dab_info"


def amqp_url(cfg: dict[str, Any]) -> str:
    """The broker's URL from DaBroker's keys (`amqp_host` may be "host:port"), or
    `amqp_url` as given."""
    if cfg.get("amqp_url"):
        return str(cfg["amqp_url"])
    host, _, port = str(cfg["amqp_host"]).partition(":")
    port = port or str(cfg.get("amqp_port", 5672))
    user = quote(str(cfg["amqp_user"]), safe="")
    password = quote(str(cfg["amqp_password"]), safe="")
    vhost = quote(str(cfg["amqp_virtual_host"]), safe="")
    return f"amqp://{user}:{password}@{host}:{port}/{vhost}"


class _Loop:
    """An event loop in a daemon thread, for sync code to hand coroutines to."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self.thread.start()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        return self.submit(coro).result(timeout)

    @property
    def here(self) -> bool:
        return threading.current_thread() is self.thread

    def shut(self, connection: aio_pika.abc.AbstractConnection | None) -> None:
        """Close `connection` (if any) on this loop, then the loop: a transport's stop."""
        if connection is not None:
            try:
                self.run(connection.close(), CONNECT_TIMEOUT)
            except Exception as error:  # closing a broken connection: nothing to keep
                log.debug("closing the broker connection: %s", error)
        self.close()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        if not self.thread.is_alive():
            self.loop.close()


async def _connect(url: str) -> aio_pika.abc.AbstractRobustConnection:
    try:
        return await aio_pika.connect_robust(url, timeout=CONNECT_TIMEOUT)
    except (TimeoutError, OSError, aio_pika.exceptions.AMQPError) as error:
        raise Unreachable(_redacted(url), str(error) or type(error).__name__) from None


async def _alerts(channel: AbstractChannel, name: str) -> AbstractExchange:
    return await channel.declare_exchange(
        name, aio_pika.ExchangeType.FANOUT, durable=False, auto_delete=False
    )


class AmqpServerTransport:
    """Consumes the RPC queue for one `BrokerServer`; publishes its broadcasts."""

    def __init__(self, server: BrokerServer) -> None:
        self.server = server
        self.url = amqp_url(server.cfg)
        self._loop: _Loop | None = None
        self._connection: Any = None
        self._channel: AbstractChannel | None = None
        self._alerts: AbstractExchange | None = None

    def start(self, purge: bool = False) -> None:
        self._loop = _Loop("broker-server")
        try:
            self._loop.run(self._start(purge), CONNECT_TIMEOUT * 2)
        except BaseException:
            self.stop()
            raise

    async def _start(self, purge: bool) -> None:
        cfg = self.server.cfg
        self._connection = await _connect(self.url)
        channel = self._channel = await self._connection.channel(publisher_confirms=False)
        await channel.set_qos(prefetch_count=1)
        self._alerts = await _alerts(channel, str(cfg["rpc_exchange"]))
        queue = await channel.declare_queue(
            str(cfg["rpc_queue"]), durable=False, auto_delete=False, exclusive=False
        )
        if purge:
            await queue.purge()
        peers = await channel.declare_queue("", exclusive=True, auto_delete=True)
        await peers.bind(self._alerts, routing_key="")
        await peers.consume(self._on_peer, no_ack=True)
        await queue.consume(self._on_request, no_ack=False)

    def stop(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None:
            return
        loop.shut(self._connection)

    async def _on_request(self, message: AbstractIncomingMessage) -> None:
        broadcasts: list[tuple[int, bytes]] = []
        if message.content_type != CONTENT_TYPE:
            error = MalformedMessage(
                f"content_type is {message.content_type!r}; this server speaks {CONTENT_TYPE}"
            )
            reply = self.server.error_reply(error)
        else:
            broadcasts, reply = self.server.handle(message.body)
        try:
            for msgid, body in broadcasts:
                await self._publish_broadcast(body, msgid)
            if message.reply_to:
                await self._publish(reply, message.reply_to, message.correlation_id)
        finally:
            await message.ack()

    async def _publish(self, body: bytes, routing_key: str, correlation_id: str | None) -> None:
        assert self._channel is not None
        await self._channel.default_exchange.publish(
            aio_pika.Message(
                body,
                content_type=CONTENT_TYPE,
                correlation_id=correlation_id,
                app_id=self.server.instance,
            ),
            routing_key=routing_key,
        )

    async def _publish_broadcast(self, body: bytes, msgid: int) -> None:
        assert self._alerts is not None
        await self._alerts.publish(
            aio_pika.Message(
                body,
                content_type=CONTENT_TYPE,
                correlation_id=str(-msgid),
                app_id=self.server.instance,
            ),
            routing_key=ROUTING_INFO,
        )

    def broadcast(self, body: bytes, msgid: int) -> concurrent.futures.Future[None] | None:
        """Hand a broadcast to the loop (from any thread); a future to wait on."""
        loop = self._loop
        if loop is None:
            return None
        if loop.here:
            loop.loop.create_task(self._publish_broadcast(body, msgid))
            return None
        return loop.submit(self._publish_broadcast(body, msgid))

    async def _on_peer(self, message: AbstractIncomingMessage) -> None:
        if message.app_id and message.app_id != self.server.instance:
            self.server.on_peer_broadcast(message.body)


class AmqpClientTransport:
    """One connection for a `BrokerClient`: its reply queue and its broadcast queue."""

    def __init__(self, client: BrokerClient) -> None:
        self.client = client
        self.url = amqp_url(client.cfg)
        self.rpc_queue = str(client.cfg["rpc_queue"])
        self._loop: _Loop | None = None
        self._connection: Any = None
        self._channel: AbstractChannel | None = None
        self._reply_to = ""
        self._ids = itertools.count(1)
        self._ids_lock = threading.Lock()
        self._waiting: dict[str, concurrent.futures.Future[tuple[bytes, str]]] = {}

    def start(self) -> None:
        self._loop = _Loop("broker-client")
        try:
            self._loop.run(self._start(), CONNECT_TIMEOUT * 2)
        except BaseException:
            self.stop()
            raise

    async def _start(self) -> None:
        self._connection = await _connect(self.url)
        channel = self._channel = await self._connection.channel(publisher_confirms=False)
        alerts = await _alerts(channel, str(self.client.cfg["rpc_exchange"]))
        replies = await channel.declare_queue("", exclusive=True, auto_delete=True)
        self._reply_to = replies.name
        await replies.consume(self._on_reply, no_ack=True)
        broadcasts = await channel.declare_queue("", exclusive=True, auto_delete=True)
        await broadcasts.bind(alerts, routing_key="")
        await broadcasts.consume(self._on_broadcast, no_ack=True)

    def stop(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None:
            return
        loop.shut(self._connection)
        for future in list(self._waiting.values()):
            future.cancel()

    def request(self, body: bytes, timeout: float) -> tuple[bytes, str]:
        """Send one request and wait for its reply: (body, the replying server's id)."""
        correlation_id, future = self._submit(body)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            raise TimedOut(f"broker queue {self.rpc_queue}", timeout) from None
        finally:
            self._waiting.pop(correlation_id, None)

    async def arequest(self, body: bytes, timeout: float) -> tuple[bytes, str]:
        """`request` for asyncio code (on any loop but the transport's own): the reply
        is awaited, not waited for, so no thread is held meanwhile."""
        correlation_id, future = self._submit(body)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout)
        except TimeoutError:
            raise TimedOut(f"broker queue {self.rpc_queue}", timeout) from None
        finally:
            self._waiting.pop(correlation_id, None)

    def _submit(self, body: bytes) -> tuple[str, concurrent.futures.Future[tuple[bytes, str]]]:
        """Hand one request to the transport's loop; its correlation id and reply future."""
        loop = self._loop
        if loop is None:
            raise Unreachable(_redacted(self.url), "the client is stopped")
        with self._ids_lock:
            correlation_id = str(next(self._ids))
        future: concurrent.futures.Future[tuple[bytes, str]] = concurrent.futures.Future()
        self._waiting[correlation_id] = future
        loop.loop.call_soon_threadsafe(self._send, body, correlation_id)
        return correlation_id, future

    def _send(self, body: bytes, correlation_id: str) -> None:
        task = asyncio.ensure_future(self._publish(body, correlation_id))
        task.add_done_callback(lambda t: self._failed(t, correlation_id))

    def _failed(self, task: asyncio.Future[None], correlation_id: str) -> None:
        error = None if task.cancelled() else task.exception()
        future = self._waiting.get(correlation_id)
        if error is not None and future is not None and not future.done():
            future.set_exception(Unreachable(_redacted(self.url), str(error)))

    async def _publish(self, body: bytes, correlation_id: str) -> None:
        assert self._channel is not None
        await self._channel.default_exchange.publish(
            aio_pika.Message(
                body,
                content_type=CONTENT_TYPE,
                correlation_id=correlation_id,
                reply_to=self._reply_to,
            ),
            routing_key=self.rpc_queue,
        )

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        future = self._waiting.get(message.correlation_id or "")
        if future is not None and not future.done():
            future.set_result((message.body, message.app_id or ""))

    async def _on_broadcast(self, message: AbstractIncomingMessage) -> None:
        self.client.on_broadcast(message.body, message.app_id or "")


def _redacted(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()
