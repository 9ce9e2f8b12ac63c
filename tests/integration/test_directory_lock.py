"""One process per directory, with two real processes: deleting LOCK does not let a
second one in, because the lock is on the directory, which cannot be deleted away."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from revkv import _paths as paths
from revkv.errors import DirectoryLocked
from revkv.prevalence import open_system
from tests.domains import Counter

ROOT = Path(__file__).resolve().parents[2]
HOLD = """
import sys
from revkv.prevalence import open_system
from tests.domains import Counter
system = open_system(Counter, sys.argv[1])
print("open", flush=True)
sys.stdin.read()
system.close()
"""


def test_deleting_lock_does_not_let_a_second_process_in(tmp_path: Path) -> None:
    env = {"PYTHONPATH": f"{ROOT / 'src'}:{ROOT}", "PATH": "/usr/bin:/bin"}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"open\n"
        (tmp_path / paths.LOCK_FILE).unlink()
        second = subprocess.run(  # noqa: PLW1510 (the exit code is what is tested)
            [sys.executable, "-c", HOLD, str(tmp_path)],
            cwd=ROOT,
            env=env,
            input=b"",
            capture_output=True,
        )
        assert second.returncode != 0
        assert b"DirectoryLocked" in second.stderr and b"only one process" in second.stderr
        with pytest.raises(DirectoryLocked) as info:  # this process too
            open_system(Counter, tmp_path)
        assert info.value.pid is None or info.value.pid == holder.pid
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
        assert holder.stdout is not None
        holder.stdout.close()
    open_system(Counter, tmp_path).close()  # once it is gone, the directory is free
