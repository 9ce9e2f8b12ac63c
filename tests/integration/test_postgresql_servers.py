"""Several `revkv serve --db` processes on one PostgreSQL database.

- compare-and-set across servers: 2 servers x 16 writers on one key, each version won
  exactly once;
- watches across servers: a watcher on one server sees every write made through either,
  in rev order, with no gap and no duplicate, and resumes from its last rev on the
  other server (SSE `Last-Event-ID`), also across a restart;
- a server refuses a database whose schema is older than it needs, naming the command.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator

import psycopg
import pytest

import revkv
from revkv._model import Event
from revkv.errors import SchemaOutdated, VersionConflict
from revkv.store._sql_schema import HEADS_EXPIRES_INDEX as INDEX
from revkv.store._sql_schema import SCHEMA_HEAD
from tests.servers import ROOT, RevkvServer

NS = "race"


@pytest.fixture
def two_servers(pg_url: str) -> Iterator[tuple[RevkvServer, RevkvServer]]:
    first = RevkvServer(pg_url).start()
    second = RevkvServer(pg_url).start()
    yield first, second
    first.stop()
    second.stop()


def test_two_servers_sixteen_writers_each_one_winner_per_version(
    two_servers: tuple[RevkvServer, RevkvServer],
) -> None:
    per_writer = 6
    won: list[tuple[int, str]] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def writer(url: str, name: str) -> None:
        with revkv.Client(url) as client:
            done = 0
            while done < per_writer:
                current = client.meta(NS, "k").version if client.get(NS, "k", default=None) else 0
                try:
                    meta = client.put(NS, "k", f"{name}:{done}", expect=current, author=name)
                except VersionConflict:
                    continue
                with lock:
                    won.append((meta.version, f"{name}:{done}"))
                done += 1

    def guarded(url: str, name: str) -> None:
        try:
            writer(url, name)
        except BaseException as error:  # reported below, not lost in a thread
            errors.append(error)

    threads = [
        threading.Thread(target=guarded, args=(server.url, f"s{s}w{w}"))
        for s, server in enumerate(two_servers)
        for w in range(16)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    total = 32 * per_writer
    assert sorted(v for v, _ in won) == list(range(1, total + 1))  # none lost, none doubled
    with revkv.Client(two_servers[1].url) as client:
        history = list(client.iter_history(NS, "k"))
        assert [m.version for m in history] == list(range(total, 0, -1))
        by_version = dict(won)
        for version in (1, total // 2, total):
            assert client.get(NS, "k", version).text == by_version[version]


def _collect(watch: revkv.client.Watch, count: int) -> list[Event]:
    events: list[Event] = []
    while len(events) < count:
        event = watch.next(timeout=30)
        assert event is not None, f"only {len(events)} of {count} events came"
        events.append(event)
    return events


def test_a_watcher_sees_every_write_of_both_servers_in_rev_order(
    two_servers: tuple[RevkvServer, RevkvServer],
) -> None:
    first, second = two_servers
    writers, each = 8, 25
    with revkv.Client(second.url) as watching:
        watch = watching.watch(0, namespace=NS)

        def write(url: str, name: str) -> None:
            with revkv.Client(url) as client:
                for n in range(each):
                    client.put(NS, f"{name}/{n % 5}", f"{n}")

        threads = [
            threading.Thread(target=write, args=((first, second)[w % 2].url, f"w{w}"))
            for w in range(writers)
        ]
        for thread in threads:
            thread.start()
        half = _collect(watch, writers * each // 2)
        watch.close()
        for thread in threads:
            thread.join()
    with revkv.Client(first.url) as resuming:  # Last-Event-ID: the rev it had reached
        rest_watch = resuming.watch(half[-1].rev, namespace=NS)
        rest = _collect(rest_watch, writers * each - len(half))
        assert rest_watch.next(timeout=0.5) is None  # nothing doubled at the end
        rest_watch.close()
    events = half + rest
    revs = [e.rev for e in events]
    assert revs == sorted(set(revs))  # rev order, no duplicate
    seen = {(e.commit.key, e.commit.version) for e in events if e.commit}
    assert len(seen) == writers * each
    with revkv.Client(first.url) as client:
        for w in range(writers):
            for k in range(5):
                top = client.meta(NS, f"w{w}/{k}").version
                assert {(f"w{w}/{k}", v) for v in range(1, top + 1)} <= seen


def test_a_watch_resumes_across_a_restart_of_either_server(
    two_servers: tuple[RevkvServer, RevkvServer],
) -> None:
    first, second = two_servers
    with revkv.Client(first.url) as client:
        start = client.put(NS, "a", "1").rev - 1
        client.put(NS, "a", "2")
    second.stop()
    second.start()
    with revkv.Client(first.url) as client:
        client.put(NS, "a", "3")
    with revkv.Client(second.url) as client:
        watch = client.watch(start, namespace=NS)
        assert [e.commit.text for e in _collect(watch, 3) if e.commit] == ["1", "2", "3"]
        first.stop()
        first.start()
        with revkv.Client(first.url) as writer:
            writer.put(NS, "a", "4")
        event = watch.next(timeout=30)
        assert event is not None
        assert event.commit is not None
        assert event.commit.text == "4"
        watch.close()


def test_a_server_refuses_an_older_schema_and_names_the_command(pg_url: str) -> None:
    with revkv.open(pg_url):
        pass
    with psycopg.connect(pg_url, autocommit=True) as connection:  # as revkv 0001 left it
        connection.execute("DROP INDEX revkv_heads_expires")
        connection.execute("ALTER TABLE revkv_commits DROP COLUMN token")
        connection.execute("ALTER TABLE revkv_commits DROP COLUMN purged")
        connection.execute("UPDATE revkv_alembic_version SET version_num = '0001'")
    server = RevkvServer(pg_url)
    with pytest.raises(RuntimeError, match=r"run `revkv db upgrade --db postgresql://"):
        server.start()
    with pytest.raises(SchemaOutdated, match=f"revision 0001, this revkv needs {SCHEMA_HEAD}"):
        revkv.open(pg_url)
    upgraded = subprocess.run(
        [sys.executable, "-m", "revkv.cli", "--db", pg_url, "db", "upgrade"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert (upgraded.returncode, upgraded.stderr) == (0, "")
    assert "schema is current" in upgraded.stdout
    with RevkvServer(pg_url) as running, revkv.Client(running.url) as client:
        assert client.put(NS, "k", "after the upgrade").version == 1
    with psycopg.connect(pg_url) as connection:
        found = connection.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", (INDEX,))
        assert found.fetchone() is not None


def test_an_unknown_schema_revision_is_one_line_not_a_traceback(pg_url: str) -> None:
    with revkv.open(pg_url):
        pass
    with psycopg.connect(pg_url, autocommit=True) as connection:  # a newer revkv's
        connection.execute("UPDATE revkv_alembic_version SET version_num = '9999'")
    upgraded = subprocess.run(
        [sys.executable, "-m", "revkv.cli", "--db", pg_url, "db", "upgrade"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert upgraded.returncode != 0
    assert "Traceback" not in upgraded.stderr
    assert "9999" in upgraded.stderr


def test_a_write_through_one_server_is_read_through_the_other_at_once(
    two_servers: tuple[RevkvServer, RevkvServer],
) -> None:
    """Read your writes across servers: both read the one database, so a write
    acknowledged by A is in every later read through B, with no wait. (B's change
    feed and watches follow once A's NOTIFY reaches B, within milliseconds: not
    asserted here, it would be a race.)"""
    first, second = two_servers
    with revkv.Client(first.url) as writer, revkv.Client(second.url) as reader:
        for n in range(50):
            meta = writer.put(NS, "ryw", f"{n}", expect=n)
            assert reader.get(NS, "ryw").text == f"{n}"
            assert reader.meta(NS, "ryw").rev == meta.rev
