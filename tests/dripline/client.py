"""A dripline wp1 requester written from the wire reference with pika (not revkv's code).

Requests go to the `requests` topic exchange with the target as routing key, `mandatory`
set, `reply_to` an exclusive `request_reply<uuid>` queue bound on `requests` under its own
name; replies are matched by correlation_id. Several replies are collected for a
broadcast; an unroutable request is retcode 102, no reply 305, as dripline's client does.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import msgspec
import pika

OPS = {"set": 0, "get": 1, "config": 6, "send": 7, "run": 8, "cmd": 9}


class WireClient:
    def __init__(self, url: str, username: str = "tester") -> None:
        self.connection = pika.BlockingConnection(pika.URLParameters(url))
        self.channel = self.connection.channel()
        self.channel.exchange_declare("requests", exchange_type="topic")
        self.channel.exchange_declare("alerts", exchange_type="topic")
        self.queue = f"request_reply{uuid.uuid4()}"
        self.channel.queue_declare(self.queue, exclusive=True, auto_delete=True)
        self.channel.queue_bind(self.queue, "requests", routing_key=self.queue)
        self.channel.confirm_delivery()
        self.username = username

    def body(self, op: str, values: list[Any], lockout_key: str | None = None,
             **kwargs: Any) -> dict[str, Any]:  # fmt: skip
        message: dict[str, Any] = {
            "msgtype": 3,
            "msgop": OPS[op],
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "sender_info": {"package": "dripline", "exe": "test", "version": "wp1.4.0",
                            "commit": "g0", "hostname": "test", "username": self.username},
            "payload": {"values": values, **kwargs},
        }  # fmt: skip
        if lockout_key:
            message["lockout_key"] = lockout_key
        return message

    def request(
        self, op: str, target: str, *values: Any, lockout_key: str | None = None,
        timeout: float = 10.0, encoding: str = "application/json",
        raw: bytes | None = None, many: bool = False, **kwargs: Any,
    ) -> list[dict[str, Any]]:  # fmt: skip
        message = self.body(op, list(values), lockout_key, **kwargs)
        if raw is not None:
            body = raw
        elif encoding == "application/msgpack":
            body = msgspec.msgpack.encode(message)
        else:
            body = json.dumps(message).encode()
        correlation = str(uuid.uuid4())
        properties = pika.BasicProperties(
            reply_to=self.queue, correlation_id=correlation, content_encoding=encoding,
            app_id="dripline.core.Service",
        )  # fmt: skip
        try:
            self.channel.basic_publish("requests", target, body, properties, mandatory=True)
        except pika.exceptions.UnroutableError:
            return [{"retcode": 102, "return_msg": "unroutable", "payload": {}}]
        replies: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            method, props, reply = self.channel.basic_get(self.queue, auto_ack=True)
            if method is None:
                self.connection.sleep(0.01)
                continue
            if props.correlation_id != correlation:
                continue
            if props.content_encoding == "application/msgpack":
                replies.append(msgspec.msgpack.decode(reply))
            else:
                replies.append(json.loads(reply))
            if not many:
                return replies
        return replies or [{"retcode": 305, "return_msg": "timeout", "payload": {}}]

    def one(self, op: str, target: str, *values: Any, **kwargs: Any) -> dict[str, Any]:
        return self.request(op, target, *values, **kwargs)[0]

    def close(self) -> None:
        self.connection.close()
