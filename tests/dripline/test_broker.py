"""The broker the dripline tests run on is real, ours alone, and on loopback."""

from __future__ import annotations

import pika

from tests.rabbitmq import RabbitMQ


def test_the_node_takes_a_round_trip_through_a_queue(rabbitmq: RabbitMQ) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq.url))
    try:
        channel = connection.channel()
        queue = channel.queue_declare("", exclusive=True).method.queue
        channel.basic_publish("", queue, b"hello")
        method, _, body = channel.basic_get(queue, auto_ack=True)
        assert method is not None
        assert body == b"hello"
    finally:
        connection.close()
    assert rabbitmq.nodename.startswith("revkv-test-")
