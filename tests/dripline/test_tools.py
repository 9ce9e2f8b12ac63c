"""`revkv dripline get|set|cmd|monitor` and `revkv.dripline.Interface` against a real service."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from revkv.dripline import Interface
from revkv.errors import InvalidValue, Locked, TimedOut, Unroutable
from tests.dripline.service import TUTORIAL, DriplineProcess
from tests.rabbitmq import RabbitMQ
from tests.servers import ROOT


@pytest.fixture
def service(rabbitmq: RabbitMQ, tmp_path: Path) -> Iterator[DriplineProcess]:
    args = ("dripline", "serve", "-c", str(TUTORIAL), "-b", rabbitmq.url, "--data",
            str(tmp_path / "store"))  # fmt: skip
    with DriplineProcess(*args, broker_url=rabbitmq.url) as process:
        yield process


def revkv(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-m", "revkv.cli", *args], env=env,
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip


def test_get_prints_dragonflys_shape(service: DriplineProcess, rabbitmq: RabbitMQ) -> None:
    done = revkv("dripline", "get", "peaches", "-b", rabbitmq.url)
    assert (done.returncode, done.stdout) == (
        0, "peaches(ret:0): {'value_cal': 1.5, 'value_raw': '0.75'}\n",
    )  # fmt: skip


def test_set_then_get_as_json(service: DriplineProcess, rabbitmq: RabbitMQ) -> None:
    assert revkv("dripline", "set", "chips", "1.79", "-b", rabbitmq.url).returncode == 0
    done = revkv("dripline", "get", "chips", "-b", rabbitmq.url, "--json")
    reply = json.loads(done.stdout)
    assert (reply["retcode"], reply["payload"]) == (0, {"value_raw": "1.79", "value_cal": 5.37})


def test_a_refused_request_prints_its_retcode_and_message(
    service: DriplineProcess, rabbitmq: RabbitMQ
) -> None:
    done = revkv("dripline", "set", "peaches_status", "maybe", "-b", rabbitmq.url)
    assert done.returncode != 0
    assert done.stdout.startswith("peaches_status(ret:304): {}")
    assert "return message: peaches_status cannot be set to 'maybe'" in done.stdout


def test_lockout_with_the_cli(service: DriplineProcess, rabbitmq: RabbitMQ) -> None:
    done = revkv("dripline", "cmd", "my_store", "lock", "-b", rabbitmq.url, "--json")
    key = json.loads(done.stdout)["payload"]["key"]
    assert revkv("dripline", "set", "chips", "2", "-b", rabbitmq.url).returncode != 0
    assert revkv("dripline", "set", "chips", "2", "-b", rabbitmq.url,
                 "--lockout-key", key).returncode == 0  # fmt: skip
    assert revkv("dripline", "cmd", "my_store", "unlock", "force=true",
                 "-b", rabbitmq.url).returncode == 0  # fmt: skip


def test_the_interface(service: DriplineProcess, rabbitmq: RabbitMQ) -> None:
    with Interface(rabbitmq.url, timeout=5) as dl:
        assert dl.get("peaches") == {"value_raw": "0.75", "value_cal": 1.5}
        assert dl.set("waffles", 4.5) == {"values": ["4.5"]}  # no get_on_set: the stored value
        assert dl.get("peaches.log_interval") == {"values": [30]}
        with pytest.raises(InvalidValue, match="maybe"):
            dl.set("peaches_status", "maybe")
        with pytest.raises(Unroutable):
            dl.get("nobody_serves_this")
        key = dl.cmd("my_store", "lock")["key"]
        try:
            with pytest.raises(Locked):
                dl.set("chips", 1)
        finally:
            dl.cmd("my_store", "unlock", force=True)
        assert key
        replies = dl.request(9, "broadcast.ping", timeout=1)  # type: ignore[arg-type]
        assert [r.return_msg for r in replies] == ["my_store is alive"]


def test_no_reply_in_time_is_timed_out(rabbitmq: RabbitMQ) -> None:
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq.url))
    channel = connection.channel()
    channel.exchange_declare("requests", exchange_type="topic")
    channel.queue_declare("mute", exclusive=True)
    channel.queue_bind("mute", "requests", routing_key="mute.#")  # routable, never answered
    try:
        with Interface(rabbitmq.url, timeout=0.3) as dl, pytest.raises(TimedOut):
            dl.get("mute")
    finally:
        connection.close()


def test_monitor_prints_requests_and_replies(service: DriplineProcess, rabbitmq: RabbitMQ) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    monitor = subprocess.Popen(
        [sys.executable, "-m", "revkv.cli", "dripline", "monitor", "-e", "requests",
         "-b", rabbitmq.url],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert monitor.stderr is not None and monitor.stdout is not None
        assert "monitoring requests" in monitor.stderr.readline()
        assert revkv("dripline", "get", "peaches", "-b", rabbitmq.url).returncode == 0
        lines = []
        while not any('"value_raw": "0.75"' in line for line in lines):
            lines.append(monitor.stdout.readline())
        text = "".join(lines)
        assert "revkv.dripline [peaches]     (From App [routing_key])" in text
        assert '"msgop": 1' in text
        assert "[request_reply" in text
    finally:
        monitor.send_signal(signal.SIGTERM)
        monitor.wait(20)
        for stream in (monitor.stdout, monitor.stderr):
            if stream is not None:
                stream.close()
