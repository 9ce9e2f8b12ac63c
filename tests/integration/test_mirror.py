"""Mirrors over the embedded store and over a real server, through kills and restarts.

"No missed or repeated change" is checked against the store's own change feed: the
events a mirror's callbacks saw must be exactly `changes(rev the mirror started at)`,
and its view exactly the store's listing.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import revkv
from revkv._model import Check, Delete, Event, Put
from revkv.prevalence._repair import repair
from tests.servers import RevkvServer

NS = "m"


def identity(events: list[Event]) -> list[tuple[int, str, str, int]]:
    return [(e.rev, e.type, e.commit.key, e.commit.version) for e in events if e.commit]


def listing(store: Any, prefix: str | None = None) -> dict[str, bytes]:
    return {c.key: c.payload for c in store.list(NS, prefix=prefix, limit=10_000).items}


def view(mirror: revkv.Mirror) -> dict[str, bytes]:
    return {key: commit.payload for key, commit in mirror.items()}


def recorded(mirror: revkv.Mirror) -> list[Event]:
    events: list[Event] = []
    mirror.on_change(events.append)
    return events


def some_changes(store: Any, tag: str) -> None:
    store.put(NS, f"{tag}/a", f"{tag}1")
    store.put(NS, f"{tag}/a", f"{tag}2")
    store.put(NS, f"{tag}/b", tag)
    store.delete(NS, f"{tag}/b")
    store.txn(
        [Check(NS, f"{tag}/a", 2)],
        [Put(namespace=NS, key=f"{tag}/c", payload=tag), Delete(namespace=NS, key=f"{tag}/a")],
    )
    store.put("elsewhere", f"{tag}/x", b"not mirrored")


@pytest.fixture
def store() -> Iterator[revkv.Service]:
    with revkv.open() as opened:
        yield opened


def test_a_mirror_starts_from_a_snapshot_and_follows_live(store: revkv.Service) -> None:
    some_changes(store, "old")
    store.put(NS, "p/kept", b"1")
    with revkv.Mirror(store, NS) as mirror:
        assert view(mirror) == listing(store)
        events = recorded(mirror)
        start = mirror.rev
        some_changes(store, "new")
        assert mirror.wait_for(store.rev, timeout=10)
        assert view(mirror) == listing(store)
        assert identity(events) == identity(store.changes(start, namespace=NS))


def test_the_view_reads_like_a_dict(store: revkv.Service) -> None:
    store.put(NS, "b", b"2")
    store.put(NS, "a", b"1", author="ann")
    with revkv.Mirror(store, NS) as mirror:
        assert mirror["a"].payload == b"1"
        assert mirror["a"].author == "ann"
        assert mirror.get("zz") is None
        assert "b" in mirror
        assert "zz" not in mirror
        assert len(mirror) == 2
        assert list(mirror) == mirror.keys() == ["a", "b"]
        assert [k for k, _ in mirror.items()] == ["a", "b"]
        assert [c.version for c in mirror.values()] == [1, 1]
        with pytest.raises(KeyError):
            mirror["zz"]


def test_a_prefix_mirror_and_a_namespace_not_created_yet(store: revkv.Service) -> None:
    with revkv.Mirror(store, NS, prefix="p/") as mirror:
        assert len(mirror) == 0
        store.put(NS, "p/1", b"x")
        store.put(NS, "q/1", b"y")
        assert mirror.wait_for(store.rev, timeout=10)
        assert mirror.keys() == ["p/1"]


def test_wait_for_a_rev_outside_the_filter(store: revkv.Service) -> None:
    with revkv.Mirror(store, NS) as mirror:
        elsewhere = store.put("elsewhere", "k", b"x")
        assert mirror.wait_for(elsewhere.rev, timeout=10)
        assert not mirror.wait_for(elsewhere.rev + 5, timeout=0.3)


def test_a_mirror_behind_the_change_log_resyncs() -> None:
    with revkv.open(change_log_size=5) as store, revkv.Mirror(store, NS) as mirror:
        release = threading.Event()
        seen: list[Event] = []
        mirror.on_change(lambda event: (seen.append(event), release.wait(10)))
        store.put(NS, "first", b"")  # the callback holds the mirror's thread here
        for i in range(40):
            store.put(NS, f"k{i % 6}", str(i))
        store.delete(NS, "k0")
        release.set()
        assert mirror.wait_for(store.rev, timeout=10)
        assert view(mirror) == listing(store)
        assert "reset" in [e.type for e in seen]


def test_a_failing_callback_does_not_stop_the_mirror(store: revkv.Service) -> None:
    with revkv.Mirror(store, NS) as mirror:
        mirror.on_change(lambda event: 1 / 0)  # logged, then ignored
        store.put(NS, "a", b"1")
        assert mirror.wait_for(store.rev, timeout=10)
        assert "a" in mirror


def test_closing_stops_following(store: revkv.Service) -> None:
    mirror = revkv.Mirror(store, NS)
    mirror.close()
    store.put(NS, "late", b"")
    assert not mirror.wait_for(store.rev, timeout=0.3)
    assert "late" not in mirror


# -- over a real server ---------------------------------------------------------------


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RevkvServer]:
    running = RevkvServer(tmp_path / "data").start()
    yield running
    running.stop()


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["killed", "stopped"])
def test_a_mirror_catches_up_after_the_server_restarts(server: RevkvServer, stop: int) -> None:
    with revkv.Client(server.url) as client:
        some_changes(client, "before")
        with revkv.Mirror(client, NS) as mirror:
            events = recorded(mirror)
            start = mirror.rev
            some_changes(client, "live")
            assert mirror.wait_for(client.rev, timeout=10)
            server.stop(stop)
            server.start()  # the same directory and port
            some_changes(client, "after")
            assert mirror.wait_for(client.rev, timeout=20)
            assert view(mirror) == listing(client)
            assert identity(events) == identity(client.changes(start, namespace=NS))


def test_a_mirror_resyncs_when_a_repair_set_the_newest_commits_aside(
    server: RevkvServer,
) -> None:
    """The server comes back behind the mirror (RevAhead): the mirror drops what is gone."""
    from tests.unit.test_repair_revs import damage_record

    with revkv.Client(server.url) as client:
        for i in range(8):
            client.put(NS, f"k{i}", f"v{i}")
        with revkv.Mirror(client, NS) as mirror:
            assert mirror.wait_for(client.rev, timeout=10)
            assert len(view(mirror)) == 8
            seen = mirror.rev
            server.stop()
            assert server.data is not None
            damage_record(server.data, 4)  # commits 5.. are set aside by the repair
            repair(server.data)
            server.start()
            # the store came back behind what the mirror saw (the mirror may already
            # have reconnected, been told RevAhead and resynced: no race on that)
            assert client.rev < seen
            client.put(NS, "after", "new")
            assert mirror.wait_for(client.rev, timeout=20)
            assert view(mirror) == listing(client)
            assert "after" in view(mirror) and "k7" not in view(mirror)
