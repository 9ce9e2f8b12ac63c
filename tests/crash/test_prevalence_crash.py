"""SIGKILL a process mid-write, again and again: nothing acknowledged is ever lost."""

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

from revkv.prevalence import control, open_system
from tests.domains import Ledger

pytestmark = pytest.mark.crash
ROOT = Path(__file__).resolve().parents[2]
KILLS = int(os.environ.get("REVKV_CRASH_KILLS", "24"))


def run_and_kill(directory: Path, threads: int, rng: random.Random) -> dict[str, int]:
    """Start a writer, kill it at a random moment; return the last acknowledged n per writer."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.crash.writer", str(directory), str(threads)],
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env=env,
    )
    try:
        return _collect_until_killed(child, rng)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        assert child.stdout is not None
        child.stdout.close()


def _collect_until_killed(child: subprocess.Popen[bytes], rng: random.Random) -> dict[str, int]:
    assert child.stdout is not None
    assert child.stdout.readline() == b"ready\n"
    acked: dict[str, int] = {}

    def collect() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            if line.endswith(b"\n"):
                name, n = line.decode().split()
                acked[name] = int(n)

    reader = threading.Thread(target=collect)
    reader.start()
    time.sleep(rng.uniform(0.02, 0.4))
    child.send_signal(signal.SIGKILL)
    child.wait()
    reader.join()
    return acked


def test_acknowledged_writes_survive_sigkill(tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("REVKV_CRASH_SEED", "1234")))
    acked_total: dict[str, int] = {}
    for _ in range(KILLS):
        acked = run_and_kill(tmp_path, threads=4, rng=rng)
        for name, n in acked.items():
            acked_total[name] = max(acked_total.get(name, -1), n)
        ledger = open_system(Ledger, tmp_path)
        state = control(ledger).obj
        for name, last in acked_total.items():
            entries = state.entries.get(name, [])
            assert len(entries) > last, f"{name}: acknowledged {last}, found {len(entries)}"
        for name, entries in state.entries.items():
            assert entries == list(range(len(entries))), f"{name} has a gap"
        assert state.total == sum(len(e) for e in state.entries.values())
        ledger.close()
    assert sum(acked_total.values()) > KILLS  # the writers really wrote between the kills
