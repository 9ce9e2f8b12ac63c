"""The offloading hub (`Hub(offload=True)`) on a real PostgreSQL: watches read off the
event loop, in rev order with no gap nor duplicate while writers race, and a read that
fails wakes the watchers with the error instead of leaving them waiting.

A server that is told of a commit (`SqlStore.advance`, what its LISTEN connection does
on a NOTIFY) reads it on a worker thread: here the store listens to nothing, so a test
tells it of a commit made elsewhere at the moment it chooses (after locking the table,
or stopping the database), as a notification arriving just then would. Every wait is
bounded by a timeout; nothing is timed.
"""

from __future__ import annotations

import asyncio
import threading
import time

import psycopg
import pytest

from revkv._hub import Watch
from revkv._model import Event
from revkv._service import Service
from revkv.client._watch import WatchSession
from revkv.errors import Compacted, DatabaseUnavailable
from revkv.store._sql import SqlStore
from tests.postgres import PostgresServer, wait_for_a_read_on_a_lock

WAIT = 60.0  # a bound on every wait: reached only when something hangs
WRITERS, WRITES = 4, 40


def _service(url: str) -> Service:
    """A Service on `url` that hears of other stores' commits only when told."""
    return Service(SqlStore(url, listen=False), sweep_interval=None)


def _heard(service: Service, rev: int) -> None:
    """What the LISTEN connection does on `NOTIFY revkv, 'rev'`."""
    store = service.backend
    assert isinstance(store, SqlStore)
    store.advance(rev)


def _version(event: Event) -> tuple[str, int]:
    assert event.commit is not None
    return event.commit.key, event.commit.version


async def _events(watch: Watch, count: int) -> list[Event]:
    events: list[Event] = []
    while len(events) < count:
        event = await watch.anext(timeout=WAIT)
        assert event is not None, f"waited {WAIT} s after {len(events)} of {count} events"
        events.append(event)
    return events


def test_watchers_get_every_commit_in_order_while_writers_race(pg_url: str) -> None:
    with revkv_open(pg_url) as service, revkv_open(pg_url) as elsewhere:
        assert service.hub.offload and service.reads_wait
        service.put("ns", "before", "0")

        async def run() -> None:
            everything = await service.awatch(0, namespace="ns")  # a catch-up first
            some = await service.awatch(namespace="ns", prefix="w1/")

            def write(writer: int) -> None:
                # half through this server, half through another (heard by NOTIFY)
                store = service if writer % 2 else elsewhere
                for n in range(WRITES):
                    store.put("ns", f"w{writer}/{n % 5}", str(n))

            writing = asyncio.gather(*(asyncio.to_thread(write, w) for w in range(WRITERS)))
            got_all, got_some = await asyncio.gather(
                _events(everything, 1 + WRITERS * WRITES), _events(some, WRITES)
            )
            await writing
            everything.close()
            some.close()
            for events in (got_all, got_some):
                revs = [e.rev for e in events]
                assert revs == sorted(revs) and len(set(revs)) == len(revs)
            written = {_version(e) for e in service.iter_changes(0, namespace="ns")}
            assert {_version(e) for e in got_all} == written
            assert len(got_all) == len(written)
            keys = [_version(e)[0] for e in got_all]
            assert [_version(e)[0] for e in got_some] == [k for k in keys if k.startswith("w1/")]

        asyncio.run(run())


def revkv_open(url: str) -> Service:
    """A listening Service, as `revkv serve --db` opens one."""
    return Service(SqlStore(url), sweep_interval=None)


class _Lock:
    """`LOCK TABLE revkv_commits` in a transaction of its own: every read of the table
    waits until `release()`, which a timer calls after `WAIT` seconds in any case."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.connection = psycopg.connect(url)
        self.connection.execute("LOCK TABLE revkv_commits IN ACCESS EXCLUSIVE MODE")
        self.held = True
        self._mu = threading.Lock()
        self._timer = threading.Timer(WAIT, self.release)
        self._timer.start()

    def release(self) -> None:
        with self._mu:
            if self.held:
                self.held = False
                self.connection.rollback()
                self.connection.close()
        self._timer.cancel()

    def wait_for_a_waiting_read(self) -> None:
        """Return once a query waits on the lock (a hub's read has started)."""
        wait_for_a_read_on_a_lock(self.url, WAIT)


def test_the_event_loop_runs_while_the_hub_waits_on_the_database(pg_url: str) -> None:
    """A table lock holds the hub's reads (live, then a catch-up): meanwhile the loop
    goes on, and once the lock goes the watchers get the commit."""
    with _service(pg_url) as service, _service(pg_url) as elsewhere:

        async def run() -> None:
            watch = await service.awatch(namespace="ns")
            waiting = asyncio.create_task(watch.anext(timeout=WAIT))
            await asyncio.sleep(0)  # it registers with the loop's dispatcher
            rev = elsewhere.put("ns", "k", "v").rev
            lock = _Lock(pg_url)
            try:
                _heard(service, rev)  # the NOTIFY of `rev` arrives
                await asyncio.to_thread(lock.wait_for_a_waiting_read)
                assert lock.held, "the event loop stood still while the hub read"
                assert not waiting.done()
            finally:
                lock.release()
            event = await waiting
            assert event is not None and (_version(event), event.rev) == (("k", 1), rev)
            watch.close()

            lock = _Lock(pg_url)
            try:
                catch_up = asyncio.create_task(service.awatch(0, namespace="ns"))
                await asyncio.to_thread(lock.wait_for_a_waiting_read)
                assert lock.held, "the event loop stood still during a catch-up"
                assert not catch_up.done()
            finally:
                lock.release()
            resumed = await catch_up
            event = await resumed.anext(timeout=WAIT)
            assert event is not None and (_version(event), event.rev) == (("k", 1), rev)
            resumed.close()

        asyncio.run(run())


def test_a_failed_read_wakes_the_watchers_with_the_error_and_they_resume(
    own_postgres: PostgresServer,
) -> None:
    """The database goes down just as a commit made elsewhere is announced: each
    watcher's `anext` raises `DatabaseUnavailable` (no hang), and the same watch, asked
    again once the database is back, resumes with that commit."""
    url = own_postgres.create_database()
    with _service(url) as service, _service(url) as elsewhere:
        service.put("ns", "k", "1")

        async def run() -> None:
            watches = [
                await service.awatch(namespace="ns"),
                await service.awatch(namespace="ns", prefix="k"),
            ]
            waiting = [asyncio.create_task(w.anext(timeout=WAIT)) for w in watches]
            await asyncio.sleep(0)  # they register with the loop's dispatcher
            rev = elsewhere.put("ns", "k", "2").rev
            await asyncio.to_thread(own_postgres.stop, remove=False)
            try:
                _heard(service, rev)  # its NOTIFY, heard as the database goes
                for task in waiting:
                    with pytest.raises(DatabaseUnavailable, match="try again"):
                        await task
            finally:
                await asyncio.to_thread(own_postgres.restart)
            for watch in watches:
                event = await _retrying(watch)
                assert (_version(event), event.rev) == (("k", 2), rev)
                watch.close()

        asyncio.run(run())


async def _retrying(watch: Watch) -> Event:
    """The watch's next event, asked again while the database is still coming back."""
    deadline = time.monotonic() + WAIT
    while True:
        try:
            event = await watch.anext(timeout=WAIT)
            assert event is not None
            return event
        except DatabaseUnavailable:
            assert time.monotonic() < deadline, "the database did not come back"
            await asyncio.sleep(0.2)


def test_a_client_resumes_after_an_error_event_that_passes() -> None:
    """The other half: a stream ended by `DatabaseUnavailable` is resumed by the client
    (it reads as a dropped stream), while one that fell behind raises `Compacted`."""
    session = WatchSession(5, "ns", None, False)
    down = '{"error":{"code":"DatabaseUnavailable","message":"down; try again","retry_after":1}}'
    for line in ("event: error", f"data: {down}"):
        assert session.feed(line) is None
    assert session.feed("") is None
    assert not session.ended and session.rev == 5
    gone = '{"error":{"code":"Compacted","message":"gone","oldest_rev":9}}'
    for line in ("event: error", f"data: {gone}"):
        session.feed(line)
    with pytest.raises(Compacted):
        session.feed("")
