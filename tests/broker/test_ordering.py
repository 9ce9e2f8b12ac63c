"""The ordering guarantee: a reply is processed only after the broadcasts it follows.

Over AMQP a broadcast and a reply travel on different queues and may arrive in either
order; here the broadcast is delivered late, by another thread, on purpose.
"""

from __future__ import annotations

import json
import threading

from revkv.broker import BrokerClient, Key
from tests.broker.guide import client_of, local_cfg, serve_guide


def broadcast(msgid: int, parts: list[object]) -> bytes:
    ref = {"_o": "Ref", "k": {"_o": "LIST", "_d": parts}}
    return json.dumps({"data": {"_m": "invalid_key", "_key": ref}, "msgid": msgid}).encode()


def test_a_reply_waits_for_the_broadcast_it_names() -> None:
    broker, _ = serve_guide(local_cfg())
    client: BrokerClient = client_of(broker)
    try:
        remote = client.root  # the first reply from this server sets where its numbers stand
        status = remote.status
        assert client.get(status._key) is status  # cached
        order: list[str] = []
        started = threading.Event()

        def late_broadcast() -> None:
            started.wait()
            order.append("broadcast")
            client.on_broadcast(broadcast(1, ["_s", "root", "status"]), broker.instance)

        waiting = client._order.wait_for

        def wait_for(predicate: object, timeout: float | None = None) -> bool:
            started.set()  # the reply is being held: only now does the broadcast leave
            return waiting(predicate, timeout)  # type: ignore[arg-type]

        client._order.wait_for = wait_for  # type: ignore[method-assign]
        sender = threading.Thread(target=late_broadcast)
        sender.start()
        reply = json.dumps({"data": "ok", "msgid": 1}).encode()
        assert client._read_reply(reply, broker.instance) == "ok"
        order.append("reply")
        sender.join(10)
        assert order == ["broadcast", "reply"]
        assert status._obsolete  # dropped before the reply was handed over
        assert client.get(Key(status._key.parts, status._key.code)) is not status
    finally:
        client.stop()
        broker.stop()


def test_replies_of_several_servers_are_numbered_apart() -> None:
    broker, _ = serve_guide(local_cfg())
    client = client_of(broker)
    try:
        client.root  # noqa: B018
        # another server's first reply, numbered far ahead, is not held
        assert client._read_reply(b'{"data": 1, "msgid": 40}', "other-server") == 1
        assert client.call("hello", "again") == "hello again"
    finally:
        client.stop()
        broker.stop()
