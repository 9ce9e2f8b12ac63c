"""PostgreSQL going away and coming back, and servers sweeping one database together.

- the database down: reads and writes are 503 `DatabaseUnavailable` with Retry-After,
  never a traceback, nothing half-written; once it is back the same server answers again
  without a restart, and a watcher on it sees the writes made meanwhile elsewhere;
- three stores sweeping the same expired keys at once write one tombstone per expiry.
"""

from __future__ import annotations

import threading
import time

import httpx

import revkv
from tests.postgres import PostgresServer
from tests.servers import RevkvServer


def test_database_down_is_a_503_with_retry_after_then_the_server_recovers(
    own_postgres: PostgresServer,
) -> None:
    url = own_postgres.create_database()
    with RevkvServer(url) as server, httpx.Client(base_url=server.url) as http:
        assert http.put("/kv/ns/k", content=b"before").status_code in (200, 201)
        own_postgres.stop(remove=False)
        try:
            for request in (
                http.build_request("GET", "/kv/ns/k"),
                http.build_request("PUT", "/kv/ns/k", content=b"during"),
                http.build_request("GET", "/kv/ns?$filter=Key eq 'k'"),
            ):
                answer = http.send(request)
                assert answer.status_code == 503, answer.text
                assert answer.headers["Retry-After"] == "1"
                error = answer.json()["error"]
                assert error["code"] == "DatabaseUnavailable"
                assert "try again" in error["message"]
        finally:
            own_postgres.restart()
        with revkv.Client(server.url) as client:
            watch = client.watch(client.rev)
            deadline = time.monotonic() + 30
            while True:  # the pool reconnects by itself on the next request
                try:
                    assert client.get("ns", "k").text == "before"  # "during" never landed
                    break
                except revkv.errors.DatabaseUnavailable:
                    assert time.monotonic() < deadline
                    time.sleep(0.2)
            assert [m.version for m in client.history("ns", "k").items] == [1]
            with revkv.open(url, sweep_interval=None) as elsewhere:
                elsewhere.put("ns", "k", "from another process")
            event = watch.next(timeout=30)  # the LISTEN connection came back too
            assert event is not None
            assert event.commit is not None
            assert event.commit.text == "from another process"
            watch.close()


def test_stores_sweeping_together_write_one_tombstone_per_expiry(pg_url: str) -> None:
    with revkv.open(pg_url, sweep_interval=None) as writer:
        for n in range(300):
            writer.put("ttl", f"k{n}", "x", ttl=0.3)
    time.sleep(0.5)
    stores = [revkv.open(pg_url, sweep_interval=None) for _ in range(3)]
    try:
        start = threading.Barrier(len(stores))
        expired: list[int] = []

        def sweep(store: revkv.Service) -> None:
            start.wait()
            expired.append(store.backend.sweep().expired)

        threads = [threading.Thread(target=sweep, args=(s,)) for s in stores]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sum(expired) == 300
        for n in range(300):
            history = stores[0].history("ttl", f"k{n}").items
            assert [(m.version, m.deleted, m.author) for m in history] == [
                (2, True, "revkv"),
                (1, False, ""),
            ]
        assert stores[1].backend.sweep().expired == 0
    finally:
        for store in stores:
            store.close()
