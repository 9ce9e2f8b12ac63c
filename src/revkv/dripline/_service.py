"""The dripline service on RabbitMQ: connect, declare, consume, reply; reconnect.

    exchanges  requests (topic), alerts (topic)   declared as dripline declares them
    queue      <service name>, exclusive, auto-delete, bound on `requests` to
               <service>.#, <provider>.#, <endpoint>.# and broadcast.#
    a request  decoded (JSON or msgpack) -> Handler.handle -> a reply in the same
               encoding on `requests`, routing key = reply_to, same correlation_id;
               acknowledged after its reply is published (its write is durable by then)
    alerts     published on `alerts` by `Alerts` while connected

Bad input never stops the consumer: an undecodable body is answered 302, an unknown
msgop 306, anything unexpected 999, and the next message is taken. When the broker
goes away the service reconnects with exponential backoff (0.1 s doubling to 10 s)
and declares everything again; values are in the store, so nothing acknowledged is
lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractConnection,
    AbstractExchange,
    AbstractIncomingMessage,
)

from revkv.dripline._alerts import Alerts
from revkv.dripline._broker import redacted
from revkv.dripline._config import ServiceConfig
from revkv.dripline._handler import Handler
from revkv.dripline._keys import Keys
from revkv.dripline._wire import JSON, MSGPACK, alert, decode, encode, reply, retcode_for
from revkv.errors import RevkvError

log = logging.getLogger(__name__)

FIRST_DELAY = 0.1
MAX_DELAY = 10.0
PREFETCH = 64


class DriplineService:
    """One configured service over one store, served on the broker at `url`."""

    def __init__(self, config: ServiceConfig, keys: Keys, url: str) -> None:
        self.config = config
        self.keys = keys
        self.url = url
        self.handler = Handler(config, keys)
        self.alerts = Alerts(config, keys, self._publish_alert)
        self.handler.on_settings = self.alerts.settings_changed
        self._requests: AbstractExchange | None = None
        self._alerts: AbstractExchange | None = None
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        #: set while consuming (tests and `serve` wait on it)
        self.ready = asyncio.Event()

    async def start(self) -> None:
        """Commit initial values, then connect and consume in the background."""
        await self.handler.start()
        self.alerts.start()
        self._task = asyncio.create_task(self._run(), name="dripline-service")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
        await self.alerts.stop()

    async def serve_forever(self) -> None:
        await self.start()
        try:
            assert self._task is not None
            await self._task
        finally:
            await self.stop()

    # -- the connection ----------------------------------------------------------------

    async def _run(self) -> None:
        delay = FIRST_DELAY
        while not self._stopping.is_set():
            try:
                connection = await aio_pika.connect(self.url, timeout=10)
            except (TimeoutError, OSError, aio_pika.exceptions.AMQPError) as error:
                log.warning(
                    "dripline: cannot connect to %s (%s); again in %.1f s",
                    redacted(self.url), error or type(error).__name__, delay,
                )  # fmt: skip
                await self._sleep(delay)
                delay = min(delay * 2, MAX_DELAY)
                continue
            delay = FIRST_DELAY
            try:
                await self._consume(connection)
            except (OSError, aio_pika.exceptions.AMQPError) as error:
                log.warning("dripline: connection lost (%s); reconnecting", error)
            finally:
                self.ready.clear()
                self._requests = self._alerts = None
                with contextlib.suppress(Exception):
                    await connection.close()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _consume(self, connection: AbstractConnection) -> None:
        closed = asyncio.Event()
        connection.close_callbacks.add(lambda *_: closed.set())
        channel = await connection.channel(publisher_confirms=False)
        channel.close_callbacks.add(lambda *_: closed.set())
        await channel.set_qos(prefetch_count=PREFETCH)
        self._requests = await _exchange(channel, "requests")
        self._alerts = await _exchange(channel, "alerts")
        queue = await channel.declare_queue(self.config.name, exclusive=True, auto_delete=True)
        for target in self.handler.targets:
            await queue.bind(self._requests, f"{target}.#")
        await queue.consume(self._on_message)
        log.info("dripline: %s serving on %s", self.config.name, redacted(self.url))
        self.ready.set()
        stopping = asyncio.create_task(self._stopping.wait())
        lost = asyncio.create_task(closed.wait())
        try:
            await asyncio.wait({stopping, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            lost.cancel()
        if not self._stopping.is_set():
            raise aio_pika.exceptions.AMQPConnectionError("the broker closed the connection")

    # -- messages ----------------------------------------------------------------------

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        encoding = message.content_encoding or JSON
        try:
            request = decode(message.body, message.content_encoding)
        except RevkvError as error:
            result: tuple[int, str, Any] = (retcode_for(error), error.message, None)
        else:
            result = await self.handler.handle(message.routing_key or "", request)
        if message.reply_to:
            await self._reply(message, result, encoding if encoding == MSGPACK else JSON)
        await message.ack()

    async def _reply(
        self, message: AbstractIncomingMessage, result: tuple[int, str, Any], encoding: str
    ) -> None:
        retcode, return_msg, payload = result
        body = encode(reply(retcode, return_msg, payload), encoding)
        exchange = self._requests
        assert exchange is not None and message.reply_to is not None
        await exchange.publish(
            aio_pika.Message(
                body,
                content_encoding=encoding,
                correlation_id=message.correlation_id,
                app_id="revkv.dripline",
            ),
            routing_key=message.reply_to,
            mandatory=False,  # a requester that left is not an error
        )

    async def _publish_alert(self, routing_key: str, payload: dict[str, Any]) -> None:
        exchange = self._alerts
        if exchange is None:
            log.info("dripline: not connected, alert %s dropped", routing_key)
            return
        message = aio_pika.Message(
            encode(alert(payload)), content_encoding=JSON, app_id="revkv.dripline"
        )
        try:
            await exchange.publish(message, routing_key=routing_key, mandatory=False)
        except (OSError, aio_pika.exceptions.AMQPError, RuntimeError) as error:
            log.info("dripline: alert %s not sent: %s", routing_key, error)


async def _exchange(channel: AbstractChannel, name: str) -> AbstractExchange:
    return await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC)
