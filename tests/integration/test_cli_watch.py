"""`revkv watch` following live in its own process until Ctrl-C (SIGINT).

Other processes cannot write while it holds the directory, so the live event comes
from the watch's own store: the TTL sweeper recording an expiry.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import revkv

REVKV = [sys.executable, "-m", "revkv.cli"]


def read_lines(process: subprocess.Popen[bytes], count: int, timeout: float) -> list[bytes]:
    """Up to `count` lines from the process's stdout, waiting at most `timeout` seconds."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    received = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while received.count(b"\n") < count and time.monotonic() < deadline:
            if selector.select(timeout=max(0.0, deadline - time.monotonic())):
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                received += chunk
    return received.splitlines()[:count]


def test_watch_follows_live_and_ends_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    with revkv.open(tmp_path) as store:
        store.put("default", "kept", b"1", author="ann")
        store.put("default", "session", b"2", author="ann", ttl=1.0)
    command = [*REVKV, "--data", str(tmp_path), "watch", "--since", "0", "--json"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0
    ) as process:
        try:
            events = [json.loads(line) for line in read_lines(process, 3, timeout=30)]
            process.send_signal(signal.SIGINT)
            code = process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
        assert process.stderr is not None
        stderr = process.stderr.read()
    commits = [e["commit"] for e in events]
    assert [(e["type"], c["key"]) for e, c in zip(events, commits, strict=True)] == [
        ("put", "kept"), ("put", "session"), ("expire", "session"),
    ]  # fmt: skip
    assert (commits[2]["author"], commits[2]["comment"], commits[2]["version"]) == (
        "revkv", "expired", 2)  # fmt: skip
    assert (code, stderr) == (0, b"")
    with revkv.open(tmp_path) as store:  # the lock was released
        assert store.meta("default", "session", include_deleted=True).deleted
