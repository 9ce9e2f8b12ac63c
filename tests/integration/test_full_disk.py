"""A real full disk (a small tmpfs mounted for the test; root only): the server says so
on /health and /metrics, writes wait and go on once space is freed, nothing is lost, and
a start on a full disk is one clear line, with no traceback and no empty `.broken`."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from revkv.errors import JournalFailed
from revkv.prevalence._journal import Journal
from tests.servers import ROOT, RevkvServer, free_port


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def fill(disk: Path) -> Path:
    """Take every free byte of `disk` with one file; returns it."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as f, contextlib.suppress(OSError):
        while True:
            f.write(bytes(4096))
    return filler


def wait_for(predicate: object, what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"never happened: {what}")


def test_a_full_disk_shows_on_health_and_metrics_and_writes_go_on_once_freed(
    small_disk: Path,
) -> None:
    data = small_disk / "data"
    with RevkvServer(data) as server, httpx.Client(base_url=server.url, timeout=120) as http:
        for i in range(5):
            assert http.put(f"/kv/ns/before{i}", content=b"x" * 1000).status_code < 300
        filler = fill(small_disk)
        answers: list[httpx.Response] = []
        payload = os.urandom(300_000)  # more than the segment's preallocation had left
        writer = threading.Thread(
            target=lambda: answers.append(http.put("/kv/ns/big", content=payload))
        )
        writer.start()
        wait_for(lambda: http.get("/health").status_code == 503, "/health failing")
        health = http.get("/health").json()
        assert health["status"] == "failing" and "No space left" in health["problem"]
        metrics = http.get("/metrics").text
        assert "revkv_journal_stalled 1.0" in metrics, [
            m for m in metrics.splitlines() if "revkv_j" in m
        ]
        assert not answers  # the write waits: it was neither lost nor told it failed
        filler.unlink()
        writer.join(timeout=120)
        assert answers and answers[0].status_code < 300, answers[0].text
        assert http.get("/health").json()["status"] == "ok"
        assert "revkv_journal_stalled 0.0" in http.get("/metrics").text
        assert http.get("/kv/ns/big").content == payload
    with RevkvServer(data) as server:  # a restart replays all of it
        assert httpx.get(f"{server.url}/kv/ns/big").content == payload
        assert httpx.get(f"{server.url}/kv/ns/before4").content == b"x" * 1000


def test_a_start_on_a_full_disk_is_one_clear_line(small_disk: Path) -> None:
    """Killed while a write waited for space (its record half written), then started
    while the disk is still full: the torn tail cannot be set aside, and it says so."""
    data = small_disk / "data"
    server = RevkvServer(data).start()
    with httpx.Client(base_url=server.url, timeout=120) as http:
        for i in range(5):
            assert http.put(f"/kv/ns/k{i}", content=b"x" * 1000).status_code < 300
        filler = fill(small_disk)
        writer = threading.Thread(
            target=_put_quietly, args=(http, "/kv/ns/big", os.urandom(300_000))
        )
        writer.start()
        wait_for(lambda: http.get("/health").status_code == 503, "/health failing")
        server.stop(signal.SIGKILL)
        writer.join()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    command = [sys.executable, "-m", "revkv.cli", "serve", "--data", str(data)]
    done = subprocess.run(
        [*command, "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert "Traceback" not in done.stderr, done.stderr
    assert len(lines) == 1, done.stderr
    assert os.strerror(errno.ENOSPC) in lines[0] and "free some space" in lines[0]
    assert not [p for p in data.iterdir() if p.name.endswith(".broken")]
    filler.unlink()
    with RevkvServer(data) as server:  # space is back: the torn tail is cut, nothing lost
        for i in range(5):
            assert httpx.get(f"{server.url}/kv/ns/k{i}").content == b"x" * 1000


def _put_quietly(http: httpx.Client, url: str, payload: bytes) -> None:
    """A write whose server is killed under it: no answer is expected."""
    with contextlib.suppress(httpx.HTTPError):
        http.put(url, content=payload)


def test_closing_a_journal_stalled_on_a_full_disk_fails_every_waiting_writer(
    small_disk: Path,
) -> None:
    """Nobody hangs: each writer waiting for space is told its write failed."""
    journal = Journal(small_disk, next_seq=1, segment_size=64 * 1024)
    journal.sync(journal.append(b"before"))
    fill(small_disk)
    outcomes: list[str] = []

    def write() -> None:
        try:
            journal.sync(journal.append(os.urandom(200_000)))
            outcomes.append("durable")
        except JournalFailed:
            outcomes.append("failed")

    writers = [threading.Thread(target=write) for _ in range(4)]
    for writer in writers:
        writer.start()
    wait_for(lambda: journal.stalled is not None, "the journal stalls")
    journal.close()
    for writer in writers:
        writer.join(timeout=60)
    assert not any(writer.is_alive() for writer in writers)
    assert sorted(outcomes) == ["failed"] * 4
