"""The broker over a real RabbitMQ: DaBroker's topology, properties and behaviour."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pika
import pytest

from revkv.broker import BrokerClient, ForgedKey, Key, NotExported, UnknownKey, access_code
from tests.broker.guide import GuideServer, MyRoot, serve_guide
from tests.rabbitmq import RabbitMQ

_names = itertools.count()


@pytest.fixture
def cfg(rabbitmq: RabbitMQ) -> dict[str, Any]:
    n = next(_names)
    return {
        "transport": "amqp",
        "amqp_host": f"127.0.0.1:{rabbitmq.port}",
        "rpc_queue": f"dab_queue_{n}",
        "rpc_exchange": f"dab_alert_{n}",
        "timeout": 20,
    }


@pytest.fixture
def served(cfg: dict[str, Any]) -> Iterator[tuple[GuideServer, MyRoot]]:
    broker, root = serve_guide(cfg)
    yield broker, root
    broker.stop()


@pytest.fixture
def client(cfg: dict[str, Any], served: Any) -> Iterator[BrokerClient]:
    with BrokerClient(cfg) as client:
        yield client


def eventually(check: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.01)


def test_guide_over_amqp(served: tuple[GuideServer, MyRoot], client: BrokerClient) -> None:
    broker, root = served
    remote = client.root
    assert remote.status.health == "OK"
    assert remote.login("jane", "sing a song and whist1e") == "welcome jane"
    assert client.call("hello", "you") == "hello you"
    broker.obj_update(root.status, health="poor")
    client.call("ping")  # its reply is held until the broadcast before it has arrived
    assert remote.status.health == "poor"


def test_topology_is_dabrokers(
    rabbitmq: RabbitMQ, cfg: dict[str, Any], served: tuple[GuideServer, MyRoot]
) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq.url))
    try:
        channel = connection.channel()
        channel.exchange_declare(cfg["rpc_exchange"], "fanout", durable=False)
        channel.queue_declare(cfg["rpc_queue"], durable=False, auto_delete=False)
        with pytest.raises(pika.exceptions.ChannelClosedByBroker, match="406"):
            channel.exchange_declare(cfg["rpc_exchange"], "fanout", durable=True)
    finally:
        connection.close()


class RawClient:
    """What DaBroker's 2014 client does on the wire, with pika."""

    def __init__(self, url: str, cfg: dict[str, Any]) -> None:
        self.connection = pika.BlockingConnection(pika.URLParameters(url))
        self.channel = self.connection.channel()
        self.cfg = cfg
        self.replies = self.channel.queue_declare("", exclusive=True).method.queue
        self.alerts = self.channel.queue_declare("", exclusive=True).method.queue
        self.channel.exchange_declare(cfg["rpc_exchange"], "fanout", durable=False)
        self.channel.queue_bind(self.alerts, cfg["rpc_exchange"], routing_key="")
        self.ids = itertools.count(1)

    def request(self, body: bytes, content_type: str = "application/x-dab-json") -> Any:
        correlation_id = str(next(self.ids))
        self.channel.basic_publish(
            "",
            self.cfg["rpc_queue"],
            body,
            pika.BasicProperties(
                content_type=content_type, correlation_id=correlation_id, reply_to=self.replies
            ),
        )
        for method, props, reply in self.channel.consume(self.replies, inactivity_timeout=20):
            assert method is not None, "no reply"
            self.channel.basic_ack(method.delivery_tag)
            assert props.correlation_id == correlation_id
            self.channel.cancel()
            return props, json.loads(reply)
        raise AssertionError("the consumer ended")

    def broadcast(self) -> Any:
        for method, props, body in self.channel.consume(self.alerts, inactivity_timeout=20):
            assert method is not None, "no broadcast"
            self.channel.basic_ack(method.delivery_tag)
            self.channel.cancel()
            return props, json.loads(body)
        raise AssertionError("the consumer ended")

    def close(self) -> None:
        self.connection.close()


@pytest.fixture
def raw(rabbitmq: RabbitMQ, cfg: dict[str, Any], served: Any) -> Iterator[RawClient]:
    client = RawClient(rabbitmq.url, cfg)
    yield client
    client.close()


def test_reply_properties(raw: RawClient, served: tuple[GuideServer, MyRoot]) -> None:
    broker, _ = served
    props, reply = raw.request(b'{"_m":"hello","_a":{"_o":"LIST","_d":["you"]}}')
    assert props.content_type == "application/x-dab-json"
    assert props.app_id == broker.instance
    assert reply == {"data": "hello you", "msgid": 0}


def test_broadcast_properties(raw: RawClient, served: tuple[GuideServer, MyRoot]) -> None:
    broker, root = served
    raw.request(b'{"_m":"root"}')

    def do_degrade() -> None:
        broker.obj_update(root.status, health="poor")

    broker.do_degrade = do_degrade  # type: ignore[attr-defined]
    _, reply = raw.request(b'{"_m":"degrade"}')
    props, broadcast = raw.broadcast()
    assert props.correlation_id == "-1"
    assert props.content_type == "application/x-dab-json"
    assert broadcast["msgid"] == reply["msgid"] == 1
    assert broadcast["data"]["_m"] == "invalid_key"
    assert broadcast["data"]["health"] == {"_o": "LIST", "_d": ["OK", "poor"]}


@pytest.mark.parametrize(
    ("body", "content_type", "kind"),
    [
        (b"{broken", "application/x-dab-json", "MalformedMessage"),
        (b'{"_m":"root"}', "application/json", "MalformedMessage"),
        (b'{"_m":"secret","_o_":%s}', "application/x-dab-json", "NotExported"),
        (b'{"_m":"get","_a":{"_o":"LIST","_d":[%s]}}', "application/x-dab-json", "ForgedKey"),
    ],
)
def test_bad_messages_get_error_replies(
    raw: RawClient, body: bytes, content_type: str, kind: str
) -> None:
    root = b'{"_o":"Ref","k":{"_o":"LIST","_d":["_s","root"]},"c":"%s"}'
    code = b"AAAAAAAA" if kind == "ForgedKey" else b"PtQ+gKyU"
    if b"%s" in body:
        body = body % (root % code)
    props, reply = raw.request(body, content_type)
    assert props.content_type == "application/x-dab-json"
    assert reply["error"]["_t"] == kind, reply
    assert reply["error"]["msg"]
    _, still = raw.request(b'{"_m":"hello","_a":{"_o":"LIST","_d":["again"]}}')
    assert still["data"] == "hello again"


def test_client_errors(client: BrokerClient) -> None:
    secret = "You really should change this"
    with pytest.raises(ForgedKey):
        client.get(Key(("_s", "root"), "AAAAAAAA"))
    with pytest.raises(UnknownKey):
        client.get(Key(("_s", "gone"), access_code(secret, ("_s", "gone"))))
    with pytest.raises(NotExported):
        client.send("secret", _o=client.root)
    assert client.call("hello", "still") == "hello still"


def test_two_servers_share_the_queue_and_see_each_others_updates(
    cfg: dict[str, Any], served: tuple[GuideServer, MyRoot], client: BrokerClient
) -> None:
    first, first_root = served
    second, second_root = serve_guide(cfg)
    try:
        remote = client.root
        assert remote.status.health == "OK"
        answered = {client.transport.request(b'{"_m":"ping"}', 20)[1] for _ in range(12)}
        assert answered == {first.instance, second.instance}
        first.obj_update(first_root.status, health="poor")
        eventually(lambda: second_root.status.health == "poor")
        for _ in range(4):  # whichever server answers, the client sees the change
            client.call("ping")
            assert remote.status.health == "poor"
            assert client.root.status.health == "poor"
    finally:
        second.stop()


def test_server_restart_under_a_connected_client(
    cfg: dict[str, Any], served: tuple[GuideServer, MyRoot], client: BrokerClient
) -> None:
    broker, _ = served
    remote = client.root
    assert remote.status.health == "OK"
    broker.stop()
    answer: list[Any] = []
    asking = threading.Thread(target=lambda: answer.append(remote.login("jane", "x")))
    asking.start()  # waits in the queue while no server runs
    restarted, _ = serve_guide(cfg)
    try:
        asking.join(30)
        assert answer == ["welcome jane"]
        assert remote._key().version_string == "0.12.3"
        assert client.root.status.health == "OK"
    finally:
        restarted.stop()
