"""The dragonfly kv_store tutorial, end to end: a real RabbitMQ, a real `revkv dripline
serve`, and a requester written from the wire reference with pika."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import revkv
from tests.dripline.client import WireClient
from tests.dripline.service import TUTORIAL, DriplineProcess
from tests.rabbitmq import RabbitMQ


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def service(rabbitmq: RabbitMQ, data: Path) -> Iterator[DriplineProcess]:
    args = ("dripline", "serve", "-c", str(TUTORIAL), "-b", rabbitmq.url, "--data", str(data))
    with DriplineProcess(*args, broker_url=rabbitmq.url) as process:
        yield process


@pytest.fixture
def client(rabbitmq: RabbitMQ) -> Iterator[WireClient]:
    client = WireClient(rabbitmq.url)
    yield client
    client.close()


def test_get_peaches_chips_waffles(service: DriplineProcess, client: WireClient) -> None:
    peaches = client.one("get", "peaches")
    assert (peaches["retcode"], peaches["payload"]) == (0, {"value_raw": "0.75", "value_cal": 1.5})
    assert client.one("get", "chips")["payload"] == {"value_raw": "1.75", "value_cal": 5.25}
    assert client.one("get", "waffles")["payload"] == {"value_raw": "4.0", "value_cal": 4.0}
    assert peaches["msgtype"] == 2


def test_set_chips_is_exact_and_a_commit_by_the_sender(
    service: DriplineProcess, client: WireClient, data: Path
) -> None:
    reply = client.one("set", "chips", 1.79)
    assert reply["retcode"] == 0
    assert reply["payload"] == {"value_raw": "1.79", "value_cal": 5.37}  # get_on_set
    assert client.one("get", "chips")["payload"]["value_raw"] == "1.79"
    service.stop()
    with revkv.open(data) as store:
        commit = store.get("my_price_list", "chips")
        assert (commit.text, commit.author, commit.comment) == ("1.79", "tester", "dripline set")
        assert store.get("my_price_list", "chips", 1).author == "dripline"


def test_dict_calibration_and_set_value_map(service: DriplineProcess, client: WireClient) -> None:
    assert client.one("get", "peaches_status")["payload"] == {
        "value_raw": "CLOSE",
        "value_cal": "on",
    }
    assert client.one("set", "peaches_status", "ON")["retcode"] == 0  # lowercased, mapped
    assert client.one("get", "peaches_status")["payload"]["value_cal"] == "off"
    refused = client.one("set", "peaches_status", "maybe")
    assert refused["retcode"] == 304
    assert "maybe" in refused["return_msg"]


def test_attribute_get_and_set(service: DriplineProcess, client: WireClient) -> None:
    assert client.one("get", "peaches.log_interval")["payload"] == {"values": [30]}
    assert client.one("set", "peaches.log_interval", 10)["retcode"] == 0
    assert client.one("get", "peaches.log_interval")["payload"] == {"values": [10]}
    assert client.one("get", "peaches", "calibration")["payload"] == {"values": ["2*{}"]}
    assert client.one("set", "peaches.log_interval", "soon")["retcode"] == 304
    assert client.one("get", "peaches.colour")["retcode"] == 306


def test_lockout(service: DriplineProcess, client: WireClient) -> None:
    locked = client.one("cmd", "peaches", "lock")
    key = locked["payload"]["key"]
    assert locked["retcode"] == 0
    try:
        assert client.one("set", "chips", 2)["retcode"] == 307
        assert client.one("get", "chips")["retcode"] == 0  # reads stay open
        dashed = f"{key[:8]}-{key[8:12]}-{key[12:]}"  # keys compare without dashes
        assert client.one("set", "chips", 2, lockout_key=dashed)["retcode"] == 0
        assert client.one("cmd", "my_store", "unlock")["retcode"] == 307
    finally:
        assert client.one("cmd", "my_store", "unlock", force=True)["retcode"] == 0
    assert client.one("set", "chips", 3)["retcode"] == 0


def test_broadcast_ping_is_answered_by_every_service(
    service: DriplineProcess, client: WireClient, rabbitmq: RabbitMQ, tmp_path: Path
) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(TUTORIAL.read_text().replace("my_store", "other_store")
                     .replace("my_price_list", "other_list").replace("peaches", "plums")
                     .replace("chips", "crisps").replace("waffles", "wafers"))  # fmt: skip
    args = ("dripline", "serve", "-c", str(other), "-b", rabbitmq.url, "--data",
            str(tmp_path / "other"))  # fmt: skip
    with DriplineProcess(*args, broker_url=rabbitmq.url, name="other_store"):
        replies = client.request("cmd", "broadcast.ping", many=True, timeout=2)
        assert sorted(r["return_msg"] for r in replies) == [
            "my_store is alive", "other_store is alive",
        ]  # fmt: skip
        assert all(r["retcode"] == 0 for r in replies)


def test_bad_input_is_answered_and_consuming_goes_on(
    service: DriplineProcess, client: WireClient
) -> None:
    assert client.one("get", "peaches", raw=b"{not json")["retcode"] == 302
    assert client.one("get", "peaches", raw=b"[1, 2]")["retcode"] == 302
    assert client.one("get", "peaches", raw=b'{"msgop": 42, "payload": {}}')["retcode"] == 306
    assert client.one("get", "peaches", raw=b'{"msgop": 1, "payload": 7}')["retcode"] == 303
    assert client.one("set", "peaches")["retcode"] == 303
    assert client.one("cmd", "peaches", "explode")["retcode"] == 306
    assert client.one("get", "nobody_serves_this")["retcode"] == 102
    assert client.one("get", "peaches")["retcode"] == 0


def test_msgpack_bodies(service: DriplineProcess, client: WireClient) -> None:
    reply = client.one("set", "waffles", 4.25, encoding="application/msgpack")
    assert reply["retcode"] == 0
    got = client.one("get", "waffles", encoding="application/msgpack")
    assert got["payload"] == {"value_raw": "4.25", "value_cal": 4.25}


def test_a_restart_keeps_the_last_value_set(service: DriplineProcess, client: WireClient) -> None:
    assert client.one("set", "peaches", 0.8)["retcode"] == 0
    service.stop()
    service.start()
    assert client.one("get", "peaches")["payload"] == {"value_raw": "0.8", "value_cal": 1.6}


def test_the_service_comes_back_after_rabbitmq_restarts(
    service: DriplineProcess, rabbitmq: RabbitMQ
) -> None:
    client = WireClient(rabbitmq.url)
    assert client.one("set", "chips", 1.5)["retcode"] == 0
    client.close()
    rabbitmq.restart()
    client = WireClient(rabbitmq.url)
    try:
        for _ in range(300):  # the service reconnects with backoff (up to 10 s apart)
            reply = client.one("get", "chips", timeout=0.5)
            if reply["retcode"] == 0:
                break
            time.sleep(0.1)
        assert reply["payload"] == {"value_raw": "1.5", "value_cal": 4.5}
    finally:
        client.close()
