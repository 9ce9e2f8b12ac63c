"""SIGKILL a store while it purges and compacts (and another thread writes): the
directory always opens, acknowledged writes survive, and an acknowledged purge's
payload is in no file once the store has opened again (an interrupted compaction is
finished at open). A purge that was not acknowledged may have happened or not."""

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
KILLS = int(os.environ.get("REVKV_CRASH_KILLS", "20")) // 2


def run_and_kill(directory: Path, run: str, rng: random.Random) -> tuple[set[int], set[int]]:
    """(the i written, the i purged) that the child acknowledged before its SIGKILL."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.crash.purge_writer", str(directory), run],
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env=env,
    )
    wrote: set[int] = set()
    purged: set[int] = set()
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == b"ready\n"

        def collect() -> None:
            assert child.stdout is not None
            for line in child.stdout:
                if line.endswith(b"\n"):
                    what, i = line.decode().split()
                    (wrote if what == "wrote" else purged).add(int(i))

        reader = threading.Thread(target=collect)
        reader.start()
        time.sleep(rng.uniform(0.05, 0.8))
        child.send_signal(signal.SIGKILL)
        child.wait()
        reader.join()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        assert child.stdout is not None
        child.stdout.close()
    return wrote, purged


def files_with(directory: Path, needle: bytes) -> list[str]:
    return [p.name for p in directory.iterdir() if p.is_file() and needle in p.read_bytes()]


def test_a_purge_killed_at_any_step_leaves_before_or_after(tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("REVKV_CRASH_SEED", "8642")))
    for run in range(max(KILLS, 3)):
        wrote, purged = run_and_kill(tmp_path, f"r{run}", rng)
        with revkv.open(tmp_path, sweep_interval=None) as store:  # it opens, every time
            for i in wrote:
                key = f"r{run}/k{i}"
                history = store.history("crash", key).items
                assert [m.version for m in history] == [2, 1], key
                assert store.get("crash", key, 2).payload == f"clean-{i}".encode()
                if i in purged:
                    assert history[1].purged, key
            for i in purged:
                needle = f"MARK-r{run}-{i}-leaked".encode()
                assert files_with(tmp_path, needle) == [], (run, i)
        assert not (tmp_path / "COMPACT").exists()
