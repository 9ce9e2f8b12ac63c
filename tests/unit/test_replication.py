"""A replica follows its primary live over TCP, read-only, with a password."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from revkv.errors import PrevalenceError, ReadOnlySystem
from revkv.prevalence import control, init_system, open_system
from revkv.prevalence._replication import open_replica, serve_replicas
from tests.domains import Counter


def wait_for(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


def test_a_replica_gets_the_state_then_every_command(tmp_path: Path) -> None:
    primary = open_system(Counter, tmp_path, codec="msgpack")
    primary.set("before", 1)
    host, port = serve_replicas(control(primary), port=0, password="s3cret")
    replica = open_replica(Counter, host=host, port=port, password="s3cret")
    assert replica.get("before") == 1
    for i in range(100):
        primary.set(f"k{i}", i)
    wait_for(lambda: replica.size() == 101)
    assert replica.data == primary.data
    with pytest.raises(ReadOnlySystem, match="read-only replica"):
        replica.set("x", 1)
    replica.close()
    primary.close()


def test_a_wrong_password_is_refused(tmp_path: Path) -> None:
    primary = open_system(Counter, tmp_path, codec="msgpack")
    host, port = serve_replicas(control(primary), port=0, password="right")
    with pytest.raises(PrevalenceError, match="wrong password"):
        open_replica(Counter, host=host, port=port, password="wrong")
    primary.close()


def test_pickle_systems_are_not_replicated(tmp_path: Path) -> None:
    primary = open_system(Counter, tmp_path)
    with pytest.raises(PrevalenceError, match="never unpickles network data"):
        serve_replicas(control(primary), port=0)
    primary.close()


def test_coopy_style_master_and_slave(tmp_path: Path) -> None:
    master = init_system(Counter, tmp_path / "m", master=True, port=0, codec="msgpack")
    host, port = control(master).stats["replication_address"]
    slave = init_system(Counter, replication=True, host=host, port=port, codec="msgpack")
    master.set("a", 1)
    wait_for(lambda: slave.get("a") == 1)
    slave.close()
    master.close()
