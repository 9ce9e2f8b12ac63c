"""One process per directory: an exclusive flock() on the directory itself.

The lock is on the directory, not on a file in it: a file can be deleted (by a person
tidying up, a backup tool restoring, a script) while its holder runs, after which a
second process would create a new one and lock that; the directory cannot go while the
holder has it open. flock() locks vanish with the process that held them, even after
SIGKILL, so a crash never leaves a stale lock behind. `LOCK` holds the holder's pid,
only to name it in the error a second opener gets, and `SERVER` (written by `revkv
serve`) the URL to use instead.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from pathlib import Path

from revkv import _paths as paths
from revkv.errors import DirectoryLocked


class DirectoryLock:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / paths.LOCK_FILE
        self._fd = -1

    def acquire(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = _read_pid(self.path)
            described = _serving(self.directory, holder) or _describe(holder)
            raise DirectoryLocked(self.directory, holder, described) from None
        with contextlib.suppress(OSError):  # a full disk: the lock holds all the same
            self.path.write_text(f"{os.getpid()}\n")
        self._fd = fd

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # closing drops the flock
            self._fd = -1

    @property
    def held(self) -> bool:
        return self._fd >= 0


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip() or 0) or None
    except (ValueError, OSError):
        return None


def _serving(directory: Path, pid: int | None) -> str:
    """ "revkv serve at URL" if the holder is the server `SERVER` names, else ""."""
    try:
        held = json.loads((directory / paths.SERVER_FILE).read_text())
    except (OSError, ValueError):
        return ""
    if not isinstance(held, dict) or held.get("pid") != pid or pid is None:
        return ""  # none, or left by an earlier server
    return f"revkv serve at {held.get('url')}; use --url {held.get('url')}"


def _describe(pid: int | None) -> str:
    if pid is None:
        return ""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").strip()
    except OSError:
        return ""
    return cmdline.decode(errors="replace")[:120]
