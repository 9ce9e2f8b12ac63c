"""SIGKILL a real `revkv serve` under concurrent HTTP writes, again and again: every write
that was answered 2xx is there after the restart, at the version and rev it was given.

`make test` kills it REVKV_HTTP_CRASH_KILLS times (default 10, to stay short); `make
crash` kills it 100 times.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from pathlib import Path

import pytest

import revkv
from revkv.errors import RevkvError
from tests.servers import RevkvServer

pytestmark = pytest.mark.crash
KILLS = int(os.environ.get("REVKV_HTTP_CRASH_KILLS", "10"))
WRITERS = 8

Acked = tuple[str, int, int, bytes]  # key, version, rev, payload


def write_until_killed(url: str, n: int, cycle: int, acked: list[Acked]) -> None:
    """Put in a loop; record what the server acknowledged; stop when it is gone."""
    with revkv.Client(url, timeout=30) as client:
        i = 0
        while True:
            key = f"w{n}/k{i % 5}"
            payload = f"{key}:{cycle}:{i}".encode() * (1 + i % 7)
            try:
                meta = client.put("crash", key, payload)
            except (RevkvError, OSError):
                return  # killed under us: not acknowledged
            acked.append((key, meta.version, meta.rev, payload))
            i += 1


def test_no_acknowledged_http_write_is_lost_across_sigkills(tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("REVKV_CRASH_SEED", "1414")))
    server = RevkvServer(tmp_path / "data")
    everything: list[Acked] = []
    for cycle in range(KILLS):
        server.start()
        acked: list[Acked] = []
        for key, version, rev, payload in everything[-50:]:  # the last ones before the kill
            with revkv.Client(server.url) as client:
                commit = client.get("crash", key, version)
                assert (commit.rev, commit.payload) == (rev, payload), key
        writers = [
            threading.Thread(target=write_until_killed, args=(server.url, n, cycle, acked))
            for n in range(WRITERS)
        ]
        for writer in writers:
            writer.start()
        time.sleep(rng.uniform(0.05, 0.6))
        server.stop(signal.SIGKILL)
        for writer in writers:
            writer.join()
        everything += acked
    revs = [rev for _, _, rev, _ in everything]
    assert len(set(revs)) == len(revs), "a rev was handed out twice"
    with revkv.open(tmp_path / "data") as store:  # every one of them, in process
        for key, version, rev, payload in everything:
            commit = store.get("crash", key, version)
            assert (commit.rev, commit.payload) == (rev, payload), (key, version)
        for key in store.keys("crash"):
            versions = [m.version for m in store.history("crash", key, limit=10**6).items]
            assert versions == list(range(len(versions), 0, -1)), f"{key} has a gap"
    print(f"{KILLS} SIGKILLs under {WRITERS} HTTP writers: {len(everything)} acknowledged, 0 lost")
    assert len(everything) > KILLS
