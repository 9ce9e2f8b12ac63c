"""`revkv serve --broker`: a real server process serving its namespaces on a real RabbitMQ.

A commit made with the `revkv` command (through the server, or on the directory while
the server is down) invalidates a BrokerClient's cached copy; a restarted server keeps
its keys (same secret) and first announces what changed while it was down (--broker-state).
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from revkv.broker import BrokerClient
from tests.rabbitmq import RabbitMQ
from tests.servers import ROOT, RevkvServer, free_port

_names = itertools.count()


def revkv_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The `revkv` command in a child process, as a user would type it."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("REVKV_")}
    environ.update(PYTHONPATH=str(ROOT / "src"), USER="ann", **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "revkv.cli", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def eventually(check: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.01)


class Setup:
    """One test's queue, exchange, secret file and state file, as flags and as cfg."""

    def __init__(self, rabbitmq: RabbitMQ, tmp_path: Path) -> None:
        n = next(_names)
        self.queue, self.exchange = f"serve_queue_{n}", f"serve_alert_{n}"
        self.secret = f"secret-{n}-{os.getpid()}"
        self.secret_file = tmp_path / "broker.secret"
        self.secret_file.write_text(self.secret + "\n")
        self.state = tmp_path / "broker.rev"
        self.url = rabbitmq.url

    def flags(self) -> tuple[str, ...]:
        return (
            "--broker",
            "--amqp",
            self.url,
            "--broker-queue",
            self.queue,
            "--broker-exchange",
            self.exchange,
            "--broker-secret-file",
            str(self.secret_file),
            "--broker-state",
            str(self.state),
        )

    def cfg(self) -> dict[str, Any]:
        return {
            "transport": "amqp",
            "amqp_url": self.url,
            "rpc_queue": self.queue,
            "rpc_exchange": self.exchange,
            "SECRET_KEY": self.secret,
            "timeout": 30,
        }


def test_a_cli_commit_invalidates_and_a_restart_is_invisible(
    rabbitmq: RabbitMQ, tmp_path: Path
) -> None:
    setup = Setup(rabbitmq, tmp_path)
    data = tmp_path / "data"
    joe = json.dumps({"name": "joe", "age": 3})
    assert revkv_cli("--data", str(data), "set", "-n", "people", "joe", joe).returncode == 0
    port = free_port()
    server = RevkvServer(data, *setup.flags(), port=port).start()
    try:
        with BrokerClient(setup.cfg()) as client:
            people = client.root.data["people"]
            remote = people.get(name="joe")
            assert (remote.payload, remote.version, remote.author) == (json.loads(joe), 1, "ann")

            newer = json.dumps({"name": "joe", "age": 4})
            done = revkv_cli("--url", server.url, "set", "-n", "people", "joe", newer)
            assert done.returncode == 0, done.stderr
            eventually(lambda: remote._obsolete)
            remote = remote._key()
            assert (remote.payload["age"], remote.version) == (4, 2)

            server.stop()  # the directory is free: commit to it while nobody serves
            newest = json.dumps({"name": "joe", "age": 5})
            done = revkv_cli("--data", str(data), "set", "-n", "people", "joe", newest)
            assert done.returncode == 0, done.stderr
            server = RevkvServer(data, *setup.flags(), port=port).start()
            eventually(lambda: remote._obsolete)  # announced from the state file's rev
            remote = remote._key()
            assert (remote.payload["age"], remote.version) == (5, 3)
            assert client.root.data["people"].count(age=5) == 1
            assert [h["version"] for h in remote.history()] == [3, 2, 1]
    finally:
        server.stop()


def test_every_namespace_by_default_even_one_created_later(
    rabbitmq: RabbitMQ, tmp_path: Path
) -> None:
    setup = Setup(rabbitmq, tmp_path)
    with RevkvServer(None, *setup.flags()) as server, BrokerClient(setup.cfg()) as client:
        assert client.root.data == {}
        done = revkv_cli("--url", server.url, "set", "-n", "pets", "rex", '{"kind": "dog"}')
        assert done.returncode == 0, done.stderr
        eventually(lambda: "pets" in client.root.data)
        assert client.root.data["pets"].get(kind="dog").key == "rex"


def test_the_config_file_and_the_environment(rabbitmq: RabbitMQ, tmp_path: Path) -> None:
    setup = Setup(rabbitmq, tmp_path)
    data = tmp_path / "data"
    for namespace in ("people", "secret"):
        done = revkv_cli("--data", str(data), "set", "-n", namespace, "joe", '{"n": 1}')
        assert done.returncode == 0, done.stderr
    config = tmp_path / "revkv.toml"
    config.write_text(
        f'[broker]\namqp = "{setup.url}"\nrpc_queue = "{setup.queue}"\n'
        f'rpc_exchange = "{setup.exchange}"\nnamespaces = ["people"]\n'
        'state_file = "broker.rev"\n'
    )
    env = {"REVKV_BROKER_SECRET": setup.secret}
    with RevkvServer(data, "--config", str(config), env=env), BrokerClient(setup.cfg()) as client:
        assert list(client.root.data) == ["people"]
        assert client.root.data["people"].get(n=1).key == "joe"
    assert setup.state.read_text().strip().isdigit()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--broker-queue", "q"), 2, "--broker-queue goes with --broker"),
        (("--broker", "--broker-secret-file", "missing"), 2, "cannot read the broker's secret"),
        (("--broker", "--amqp", "http://rabbit/"), 2, "is a host name or an amqp://"),
        (("--broker", "--broker-queue", ""), 2, "rpc_queue is a name of 1 to 255"),
        (("--broker", "--broker-namespace", "people"), 2, "--broker-namespace people: the"),
        (("--broker",), 4, "cannot reach amqp://guest:***@127.0.0.1:"),
    ],
)
def test_bad_options_are_one_line(
    tmp_path: Path, args: tuple[str, ...], code: int, message: str
) -> None:
    """No RabbitMQ needed: each is refused before anything listens (the last one finds a
    port where nothing answers)."""
    nowhere = f"amqp://guest:secret@127.0.0.1:{free_port()}/"
    if "--amqp" not in args:
        args = (*args, "--amqp", nowhere)
    done = revkv_cli(
        "serve", "--memory", "--port", str(free_port()), *args, env={"REVKV_BROKER_SECRET": "s"}
    )
    assert done.returncode == code, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert "secret@" not in done.stderr
    usage = ("Usage: revkv serve", "Try 'revkv serve --help'")
    said = [line for line in done.stderr.splitlines() if line and not line.startswith(usage)]
    assert len(said) == 1, said  # click's usage hint aside, one line


def test_a_bad_broker_table_in_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "revkv.toml"
    config.write_text("[broker]\nrpc_queue = 3\n")
    done = revkv_cli("serve", "--memory", "--config", str(config))
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == f"revkv: {config}: [broker] rpc_queue must be a string, not 3"
