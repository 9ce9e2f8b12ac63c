"""One process per directory: an exclusive flock() on LOCK, which holds the owner's pid.

flock() locks vanish with the process that held them, even after SIGKILL, so a crash
never leaves a stale lock behind; the pid in the file is only there to name the holder
in the error a second opener gets.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from revkv import _paths as paths
from revkv.errors import DirectoryLocked


class DirectoryLock:
    def __init__(self, directory: Path) -> None:
        self.path = directory / paths.LOCK_FILE
        self._fd = -1

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise DirectoryLocked(self.path.parent, holder, _describe(holder)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # closing drops the flock
            self._fd = -1

    @property
    def held(self) -> bool:
        return self._fd >= 0


def _read_pid(fd: int) -> int | None:
    try:
        return int(os.pread(fd, 32, 0).decode().strip() or 0) or None
    except (ValueError, OSError):
        return None


def _describe(pid: int | None) -> str:
    if pid is None:
        return ""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").strip()
    except OSError:
        return ""
    return cmdline.decode(errors="replace")[:120]
