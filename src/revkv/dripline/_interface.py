"""`Interface`: dripline requests from a script (what the `revkv dripline` tools use).

Each request is published on `requests` with ``mandatory`` set and publisher confirms on,
so a target no service serves comes back as `Unroutable` (dripline's 102) at once
instead of a timeout; the reply arrives on this interface's own exclusive queue
``request_reply<uuid>``, bound on `requests` under its own name, as dripline's are.
No reply within `timeout` is `TimedOut` (305). A broadcast collects every reply
that arrives within the timeout.

The class is synchronous: it keeps one connection on its own event loop
(`asyncio.Runner`), so call it from plain code, not from inside a running loop.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange, AbstractQueue

from revkv.dripline._broker import broker_url
from revkv.dripline._wire import (
    ERROR_FOR_RETCODE,
    JSON,
    MSGPACK,
    MsgOp,
    decode,
    encode,
    request,
)
from revkv.errors import RevkvError, TimedOut, Unreachable, Unroutable


@dataclass(frozen=True)
class Reply:
    """One service's answer: dripline's retcode, return message and payload."""

    target: str
    retcode: int
    return_msg: str
    payload: dict[str, Any]
    sender_info: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.retcode == 0

    def error(self) -> RevkvError:
        """The revkv error this retcode stands for (`RevkvError` for one without its own)."""
        cls = ERROR_FOR_RETCODE.get(self.retcode, RevkvError)
        return cls.from_fields(f"{self.target}(ret:{self.retcode}): {self.return_msg}", {})


class Interface:
    """Talk to dripline services: `get`, `set`, `cmd`, `send`, `run`, raw `request`.

    >>> with Interface("localhost") as dl:
    ...     dl.get("peaches")         # {'value_raw': '0.75', 'value_cal': 1.5}
    ...     dl.set("chips", 1.79)

    `broker` is a host (credentials from ~/.project8_authentications.json, else guest)
    or an amqp:// URL. With `confirm_retcodes` (the default) a non-zero retcode raises
    the matching `revkv.errors` class (`Locked` for 307, `InvalidValue` for 304, ...).
    """

    def __init__(
        self,
        broker: str | None = None,
        *,
        timeout: float = 10.0,
        lockout_key: str | None = None,
        username: str | None = None,
        confirm_retcodes: bool = True,
        encoding: str = JSON,
    ) -> None:
        self.url = broker_url(broker)
        self.timeout = timeout
        self.lockout_key = lockout_key
        self.username = username
        self.confirm_retcodes = confirm_retcodes
        if encoding not in (JSON, MSGPACK):
            raise ValueError(f"encoding is {JSON} or {MSGPACK}")
        self.encoding = encoding
        self._runner = asyncio.Runner()
        self._link: _Link | None = None

    # -- what scripts call ---------------------------------------------------------------

    def get(self, target: str, *values: Any, **kwargs: Any) -> dict[str, Any]:
        return self._payload(MsgOp.GET, target, values, kwargs)

    def set(self, target: str, *values: Any, **kwargs: Any) -> dict[str, Any]:
        return self._payload(MsgOp.SET, target, values, kwargs)

    def cmd(self, target: str, *values: Any, **kwargs: Any) -> dict[str, Any]:
        return self._payload(MsgOp.CMD, target, values, kwargs)

    def send(self, target: str, *values: Any, **kwargs: Any) -> dict[str, Any]:
        return self._payload(MsgOp.SEND, target, values, kwargs)

    def run(self, target: str, *values: Any, **kwargs: Any) -> dict[str, Any]:
        return self._payload(MsgOp.RUN, target, values, kwargs)

    def request(
        self,
        op: MsgOp,
        target: str,
        values: tuple[Any, ...] | list[Any] = (),
        kwargs: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
        lockout_key: str | None = None,
    ) -> list[Reply]:
        """Every reply to one request (one, except for a broadcast); `TimedOut` if none."""
        payload = {"values": list(values), **(kwargs or {})}
        message = request(
            op, payload, lockout_key=lockout_key or self.lockout_key, username=self.username
        )
        wait = self.timeout if timeout is None else timeout
        many = target.startswith("broadcast.")
        return self._runner.run(self._request(target, message, wait, many))

    def close(self) -> None:
        if self._link is not None:
            self._runner.run(self._link.close())
            self._link = None
        self._runner.close()

    def __enter__(self) -> Interface:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the mechanics -------------------------------------------------------------------

    def _payload(
        self, op: MsgOp, target: str, values: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        reply = self.request(op, target, values, kwargs)[0]
        if self.confirm_retcodes and not reply.ok:
            raise reply.error()
        return reply.payload

    async def _request(
        self, target: str, message: dict[str, Any], timeout: float, many: bool
    ) -> list[Reply]:
        if self._link is None:
            self._link = await _Link.open(self.url)
        return await self._link.request(target, encode(message, self.encoding), self.encoding,
                                        timeout, many)  # fmt: skip


class _Link:
    """One connection, channel and reply queue, on the interface's loop."""

    def __init__(
        self, connection: AbstractConnection, channel: AbstractChannel,
        requests: AbstractExchange, queue: AbstractQueue,
    ) -> None:  # fmt: skip
        self.connection = connection
        self.channel = channel
        self.requests = requests
        self.queue = queue
        self.waiting: dict[str, asyncio.Queue[Reply]] = {}

    @classmethod
    async def open(cls, url: str) -> _Link:
        try:
            connection = await aio_pika.connect(url, timeout=10)
        except (TimeoutError, OSError, aio_pika.exceptions.AMQPError) as error:
            raise Unreachable(
                url.rsplit("@", maxsplit=1)[-1], str(error) or type(error).__name__
            ) from None
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        requests = await channel.declare_exchange("requests", aio_pika.ExchangeType.TOPIC)
        name = f"request_reply{uuid.uuid4()}"
        queue = await channel.declare_queue(name, exclusive=True, auto_delete=True)
        await queue.bind(requests, name)
        link = cls(connection, channel, requests, queue)
        await queue.consume(link._on_reply, no_ack=True)
        return link

    async def _on_reply(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        waiting = self.waiting.get(message.correlation_id or "")
        if waiting is None:
            return
        try:
            body = decode(message.body, message.content_encoding)
        except RevkvError as error:
            body = {"retcode": 302, "return_msg": f"undecodable reply: {error}", "payload": {}}
        payload = body.get("payload")
        await waiting.put(
            Reply(
                target=message.app_id or "?",
                retcode=int(body.get("retcode", 0)),
                return_msg=str(body.get("return_msg", "")),
                payload=_floats(payload) if isinstance(payload, dict) else {"values": [payload]},
                sender_info=body.get("sender_info") or {},
            )
        )

    async def request(
        self, target: str, body: bytes, encoding: str, timeout: float, many: bool
    ) -> list[Reply]:
        correlation = str(uuid.uuid4())
        replies: asyncio.Queue[Reply] = asyncio.Queue()
        self.waiting[correlation] = replies
        try:
            try:
                await self.requests.publish(
                    aio_pika.Message(
                        body, content_encoding=encoding, correlation_id=correlation,
                        reply_to=self.queue.name, app_id="revkv.dripline",
                    ),
                    routing_key=target,
                    mandatory=True,
                )  # fmt: skip
            except aio_pika.exceptions.DeliveryError:
                raise Unroutable(target) from None
            return await _collect(replies, target, timeout, many)
        finally:
            del self.waiting[correlation]

    async def close(self) -> None:
        await self.connection.close()


async def _collect(
    replies: asyncio.Queue[Reply], target: str, timeout: float, many: bool
) -> list[Reply]:
    got: list[Reply] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        left = deadline - loop.time()
        if left <= 0:
            break
        try:
            reply = await asyncio.wait_for(replies.get(), left)
        except TimeoutError:
            break
        got.append(Reply(target, reply.retcode, reply.return_msg, reply.payload, reply.sender_info))
        if not many:
            return got
    if not got:
        raise TimedOut(target, timeout)
    return got


def _floats(value: Any) -> Any:
    """Decimals as floats, as dripline's clients see numbers."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: _floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_floats(v) for v in value]
    return value
