"""`revkv backup` of a real server under load: every version acknowledged before the
backup started is in the copy with its rev, the copy is exactly the server's history up
to the rev the backup names, and `revkv serve --data COPY` opens it as is.

Writers run in threads of this process against a `revkv serve` child process; the
backup runs as another `revkv` process, both from the server (`--url`, GET /backup)
and from its locked directory (`--data`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

import revkv
from tests.servers import ROOT, RevkvServer

THREADS = 4
KEYS = 40  # per thread: keys get many versions
Acked = tuple[str, str, int, int, bytes]  # namespace, key, version, rev, payload


def revkv_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, "-m", "revkv.cli", *args],
        check=False,
        env=env,
        capture_output=True,
        text=True,
    )


@contextmanager
def load(url: str) -> Iterator[list[Acked]]:
    """Writers putting versions until the block ends; yields what they were acknowledged."""
    acked: list[Acked] = []
    stop = threading.Event()
    failures: list[BaseException] = []

    def write(thread: int) -> None:
        with revkv.Client(url) as client:
            i = 0
            while not stop.is_set():
                key = f"t{thread}/k{i % KEYS}"
                payload = f"{thread}:{i}:".encode() + os.urandom(8).hex().encode()
                try:
                    meta = client.put(f"ns{thread % 2}", key, payload)
                except BaseException as error:  # pragma: no cover - shown by the test
                    failures.append(error)
                    return
                acked.append((meta.namespace, key, meta.version, meta.rev, payload))
                i += 1

    threads = [threading.Thread(target=write, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: len(acked) >= 300 or bool(failures))
        yield acked
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert not failures, failures


def wait_for(condition: object, limit: float = 60.0) -> None:
    """Wait for `condition()` (no timing asserted: the limit only stops a hang)."""
    deadline = time.monotonic() + limit
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the writers never got going"
        time.sleep(0.05)


def check_copy(copy: Path, before: list[Acked], server_url: str, rev: int) -> None:
    """Every acknowledged version is in the copy with its rev and payload, and the copy's
    history is the server's up to `rev`, no more and no less."""
    with revkv.open(copy) as store:
        assert store.rev == rev
        for namespace, key, version, commit_rev, payload in before:
            commit = store.get(namespace, key, version)
            assert (commit.rev, commit.payload) == (commit_rev, payload)
        mine = [(e.rev, e.commit.namespace, e.commit.key, e.commit.version)
                for e in store.iter_changes(0) if e.commit]  # fmt: skip
    with revkv.Client(server_url) as client:
        theirs = [
            (e.rev, e.commit.namespace, e.commit.key, e.commit.version)
            for e in client.iter_changes(0)
            if e.commit and e.rev <= rev
        ]
    assert mine == theirs
    assert len(mine) >= len(before)


@pytest.mark.parametrize("source", ["url", "data"])
def test_a_backup_under_load_holds_every_acknowledged_version(tmp_path: Path, source: str) -> None:
    data, copy = tmp_path / "data", tmp_path / "copy"
    with RevkvServer(data) as server, load(server.url) as acked:
        before = list(acked)  # acknowledged before the backup starts
        where = ["--url", server.url] if source == "url" else ["--data", str(data)]
        done = revkv_cli(*where, "backup", str(copy), "--json")
        assert done.returncode == 0, done.stderr
        during = len(acked) - len(before)
        summary = json.loads(done.stdout)
    assert during > 0 or summary["rev"] >= before[-1][3]  # writers went on meanwhile
    assert summary["dir"] == str(copy)
    assert summary["rev"] >= max(a[3] for a in before)
    with RevkvServer(data) as again:
        check_copy(copy, before, again.url, summary["rev"])
    with RevkvServer(copy) as restored:  # `revkv serve --data COPY` opens it as is
        health = httpx.get(restored.url + "/health").json()
        assert health["rev"] == summary["rev"]
        namespace, key, version, _rev, payload = before[-1]
        with revkv.Client(restored.url) as client:
            assert client.get(namespace, key, version).payload == payload


def test_backup_refuses_a_directory_that_is_not_empty(tmp_path: Path) -> None:
    with revkv.open(tmp_path / "data") as store:
        store.put("ns", "k", "v")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    done = revkv_cli("--data", str(tmp_path / "data"), "backup", str(tmp_path / "full"))
    assert done.returncode == 2
    assert "not an empty directory" in done.stderr
    assert "Traceback" not in done.stderr
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["keep.txt"]


def test_backup_of_a_server_in_memory_is_refused(tmp_path: Path) -> None:
    with RevkvServer(None) as server:
        done = revkv_cli("--url", server.url, "backup", str(tmp_path / "copy"))
    assert done.returncode == 2, done.stderr
    assert "kept in memory" in done.stderr and "revkv export" in done.stderr
    assert not (tmp_path / "copy").exists()
