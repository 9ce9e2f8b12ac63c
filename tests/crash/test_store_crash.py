"""SIGKILL the store during concurrent puts: acknowledged commits survive, versions stay
contiguous per key, revs strictly increase."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import revkv

pytestmark = pytest.mark.crash
ROOT = Path(__file__).resolve().parents[2]
KILLS = int(os.environ.get("REVKV_CRASH_KILLS", "20"))


def run_and_kill(directory: Path, rng: random.Random) -> list[tuple[str, int, int]]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.crash.store_writer", str(directory), "4"],
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env=env,
    )
    acked: list[tuple[str, int, int]] = []
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == b"ready\n"

        def collect() -> None:
            assert child.stdout is not None
            for line in child.stdout:
                if line.endswith(b"\n"):
                    key, version, rev = line.decode().split()
                    acked.append((key, int(version), int(rev)))

        reader = threading.Thread(target=collect)
        reader.start()
        time.sleep(rng.uniform(0.05, 0.5))
        child.send_signal(signal.SIGKILL)
        child.wait()
        reader.join()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        assert child.stdout is not None
        child.stdout.close()
    return acked


def test_acknowledged_commits_survive_sigkill(tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("REVKV_CRASH_SEED", "4321")))
    all_acked: list[tuple[str, int, int]] = []
    for _ in range(KILLS):
        all_acked += run_and_kill(tmp_path, rng)
        with revkv.open(tmp_path) as store:
            for key, version, rev in all_acked:
                commit = store.get("crash", key, version)
                assert commit.rev == rev
                assert commit.payload.startswith(f"{key}:".encode())
            for key in store.keys("crash"):
                versions = [m.version for m in store.history("crash", key, limit=10**6).items]
                assert versions == list(range(len(versions), 0, -1)), f"{key} has a gap"
            revs = [e.rev for e in store.changes(0, limit=10**6)]
            assert revs == sorted(set(revs)), "revs must strictly increase"
    assert len(all_acked) > KILLS
