"""A `revkv serve --db postgresql://` keeps answering while a watch waits on the database.

A watcher resuming from `Last-Event-ID: 0` reads the history after it; here a table lock
holds that read in PostgreSQL. The server runs one event loop: had the read run on it,
every other request would wait as long. Those asked meanwhile read nothing the lock holds
(`/health` would: its figures count the table, on a worker thread): the API's description
and a long poll from now. Every wait is bounded by a timeout; nothing is timed.
"""

from __future__ import annotations

import threading

import httpx
import psycopg

from tests.postgres import wait_for_a_read_on_a_lock
from tests.servers import RevkvServer

WAIT = 60.0


def test_the_server_answers_while_a_watch_catch_up_waits_on_a_lock(pg_url: str) -> None:
    with RevkvServer(pg_url) as server, httpx.Client(base_url=server.url, timeout=WAIT) as http:
        revs = [http.put(f"/kv/ns/k{n}", content=b"v").json()["rev"] for n in range(3)]
        frames: list[str] = []

        def watch() -> None:
            headers = {"Last-Event-ID": "0", "Accept": "text/event-stream"}
            with http.stream("GET", "/watch/ns", headers=headers) as stream:
                for line in stream.iter_lines():
                    if line.startswith("id: "):
                        frames.append(line)
                    if len(frames) == 3:
                        return

        lock = psycopg.connect(pg_url)
        watcher = threading.Thread(target=watch, daemon=True)
        try:
            lock.execute("LOCK TABLE revkv_commits IN ACCESS EXCLUSIVE MODE")
            watcher.start()
            wait_for_a_read_on_a_lock(pg_url, WAIT)
            # the lock outlives these timeouts
            assert http.get("/openapi.json", timeout=WAIT / 2).status_code == 200
            poll = http.get("/watch/ns?wait=0s", timeout=WAIT / 2)
            assert poll.json() == {"rev": revs[-1], "events": []}
            assert frames == []
        finally:
            lock.rollback()
            lock.close()
        watcher.join(WAIT)
        assert not watcher.is_alive()
        assert frames == [f"id: {rev}" for rev in revs]
