"""`revkv serve --dripline FILE --amqp URL`: both doors on one store, in one process.

A write over HTTP is seen by the next dripline get and raises the same `log_on_set`
alert as a dripline set; `publish_commits` announces every commit with its rev.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pika
import pytest

from tests.dripline.client import WireClient
from tests.dripline.service import TUTORIAL
from tests.rabbitmq import RabbitMQ
from tests.servers import RevkvServer


@pytest.fixture
def server(rabbitmq: RabbitMQ, tmp_path: Path) -> Iterator[RevkvServer]:
    config = tmp_path / "store.yaml"
    config.write_text(TUTORIAL.read_text() + "publish_commits: [my_price_list]\n")
    with RevkvServer(tmp_path / "data", "--dripline", str(config), "--amqp", rabbitmq.url) as s:
        client = WireClient(rabbitmq.url)
        try:
            for _ in range(300):  # the HTTP side is up; wait for the AMQP side
                if client.one("cmd", "my_store", "ping", timeout=0.5)["retcode"] == 0:
                    break
        finally:
            client.close()
        yield s


class Alerts:
    """A queue bound on the alerts exchange, read with basic_get."""

    def __init__(self, url: str, key: str) -> None:
        self.connection = pika.BlockingConnection(pika.URLParameters(url))
        self.channel = self.connection.channel()
        self.channel.exchange_declare("alerts", exchange_type="topic")
        self.queue = self.channel.queue_declare("", exclusive=True).method.queue
        self.channel.queue_bind(self.queue, "alerts", routing_key=key)

    def next(self, attempts: int = 500) -> tuple[str, dict[str, Any]]:
        for _ in range(attempts):
            method, _, body = self.channel.basic_get(self.queue, auto_ack=True)
            if method is not None:
                return method.routing_key, json.loads(body)
            self.connection.sleep(0.02)
        raise AssertionError("no alert came")

    def close(self) -> None:
        self.connection.close()


def test_a_write_over_http_is_seen_by_a_dripline_get_and_alerts(
    server: RevkvServer, rabbitmq: RabbitMQ
) -> None:
    alerts = Alerts(rabbitmq.url, "sensor_value.#")
    client = WireClient(rabbitmq.url)
    try:
        response = httpx.put(f"{server.url}/kv/my_price_list/peaches", content=b"0.9")
        assert response.status_code in (200, 201)
        assert client.one("get", "peaches")["payload"] == {"value_raw": "0.9", "value_cal": 1.8}
        key, alert = alerts.next()
        assert (key, alert["msgtype"]) == ("sensor_value.peaches", 4)
        assert alert["payload"] == {"value_raw": "0.9", "value_cal": 1.8}
        assert client.one("set", "chips", 2.5)["retcode"] == 0
        key, alert = alerts.next()
        assert (key, alert["payload"]["value_raw"]) == ("sensor_value.chips", "2.5")
        history = httpx.get(
            f"{server.url}/kv/my_price_list/chips", headers={"Accept": "application/json"}
        )
        assert history.status_code == 200
    finally:
        client.close()
        alerts.close()


def test_a_raw_value_missing_from_a_dict_calibration_is_304(
    server: RevkvServer, rabbitmq: RabbitMQ
) -> None:
    httpx.put(f"{server.url}/kv/my_price_list/peaches_status", content=b"HALF")
    client = WireClient(rabbitmq.url)
    try:
        reply = client.one("get", "peaches_status")
        assert reply["retcode"] == 304
        assert "HALF" in reply["return_msg"]
    finally:
        client.close()


def test_every_commit_of_a_published_namespace_is_announced_with_its_rev(
    server: RevkvServer, rabbitmq: RabbitMQ
) -> None:
    alerts = Alerts(rabbitmq.url, "revkv.commit.#")
    try:
        httpx.put(f"{server.url}/kv/my_price_list/waffles", content=b"5")
        key, alert = alerts.next()
        assert key == "revkv.commit.my_price_list.waffles"
        payload = alert["payload"]
        assert (payload["value"], payload["event"]) == ("5", "put")
        changes = httpx.get(f"{server.url}/changes", params={"since": payload["rev"] - 1})
        assert changes.status_code == 200
        assert "waffles" in changes.text
    finally:
        alerts.close()


def test_dripline_serve_through_a_running_revkv_server(rabbitmq: RabbitMQ, tmp_path: Path) -> None:
    """`revkv dripline serve --url`: the values live in the server, seen over HTTP."""
    from tests.dripline.service import DriplineProcess

    with RevkvServer(tmp_path / "data") as server:
        args = ("dripline", "serve", "-c", str(TUTORIAL), "-b", rabbitmq.url, "--url", server.url)
        with DriplineProcess(*args, broker_url=rabbitmq.url):
            client = WireClient(rabbitmq.url, username="ann")
            try:
                assert client.one("set", "chips", 1.79)["retcode"] == 0
            finally:
                client.close()
        meta = httpx.get(f"{server.url}/kv/my_price_list/chips").text
        assert meta == "1.79"


def test_the_periodic_logger_announces_while_logging_is_on(
    rabbitmq: RabbitMQ, tmp_path: Path
) -> None:
    from tests.dripline.service import DriplineProcess

    config = tmp_path / "logged.yaml"
    config.write_text(
        TUTORIAL.read_text().replace("log_interval: 30", "log_interval: 0.2")
        + "setup_calls:\n  - target: my_price_list\n    method: on_set\n    args: 'on'\n"
        "    kwargs:\n        routing_key_specifier: logging_status\n"
    )
    alerts = Alerts(rabbitmq.url, "sensor_value.waffles")
    args = (
        "dripline",
        "serve",
        "-c",
        str(config),
        "-b",
        rabbitmq.url,
        "--data",
        str(tmp_path / "d"),
    )
    try:
        with DriplineProcess(*args, broker_url=rabbitmq.url):
            for _ in range(2):  # announced again and again, with nobody setting anything
                key, alert = alerts.next()
                assert (key, alert["payload"]["value_raw"]) == ("sensor_value.waffles", "4.0")
            client = WireClient(rabbitmq.url)
            try:
                reply = client.one("set", "my_price_list.logging_status", "off")
                assert reply["payload"] == {"values": ["off"]}
            finally:
                client.close()
    finally:
        alerts.close()
