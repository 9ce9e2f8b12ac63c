"""Cutting damaged journal bytes off: the one place that truncates a journal.

Nothing is thrown away: the cut bytes are copied to a `.broken` file first, and whole
segments after the damage are renamed `.broken` (etcd's wal/repair.go and ZODB's
`_truncate` do the same). Two entry points:

- `cut_torn_tail`, used at every open: the torn last write of a crash, which was never
  acknowledged to anyone, is cut and logged;
- `repair`, run by a person (`revkv repair`): damage anywhere in the journal the next
  open would replay is cut at the last good record, after which the system opens with
  every record before the damage.

Revs never go back: a record's seq is the rev of its commit, and the records set aside
had been seen (acknowledged, watched, mirrored) under theirs. So a repair that sets
records aside starts a new segment flagged CUT after the highest seq found in what it set
aside, and the store goes on from there; a watcher resuming from a rev in between is
told to resync (`RevAhead`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from revkv import _paths as paths
from revkv.errors import JournalCorrupted
from revkv.prevalence._dirlock import DirectoryLock
from revkv.prevalence._frames import (
    FRAME_HEADER,
    FRAME_HEADER_LEN,
    SEGMENT_HEADER_LEN,
    highest_seq_in,
    map_file,
    size_without_trailing_zeros,
)
from revkv.prevalence._journal import create_segment, fsync_directory
from revkv.prevalence._reader import JournalReader, TornTail
from revkv.prevalence._snapshot import load_newest_snapshot

log = logging.getLogger(__name__)


def _highest_seq_from(path: Path, offset: int, expected: int = 0) -> int:
    """The highest seq of a record that verifies in `path` from `offset` on (0: none).

    A damaged record at `offset` that still names `expected` as its seq counts too: it
    may have been acknowledged under that rev.
    """
    data = map_file(path)
    start = max(offset, SEGMENT_HEADER_LEN)
    named = 0
    if expected and start + FRAME_HEADER_LEN <= len(data):
        named = expected if FRAME_HEADER.unpack_from(data, start)[2] == expected else 0
    return max(named, highest_seq_in(data, start))


def _save_and_clear(path: Path, offset: int) -> tuple[Path, int]:
    """Copy the bytes from `offset` to the last non-zero byte aside, then zero them.

    Zeroing instead of truncating keeps the segment's preallocated space: the journal
    resumes writing at `offset`, and a reader sees a clean end there.
    """
    data = map_file(path)
    end = size_without_trailing_zeros(data)
    damaged = bytes(data[offset:end])
    broken = paths.broken_name(path)
    with open(broken, "wb") as dst:
        dst.write(damaged)
        dst.flush()
        os.fsync(dst.fileno())
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, bytes(len(damaged)), offset)
        os.fsync(fd)
    finally:
        os.close(fd)
    fsync_directory(path.parent)
    return broken, len(damaged)


def cut_torn_tail(torn: TornTail) -> None:
    broken, cut = _save_and_clear(torn.path, torn.offset)
    log.warning(
        "cut %d bytes of a torn write off the end of %s at byte %d (%s); they were never "
        "acknowledged; copy kept in %s",
        cut,
        torn.path.name,
        torn.offset,
        torn.reason,
        broken.name,
    )


@dataclass
class RepairReport:
    damaged: Path | None = None
    offset: int = 0
    reason: str = ""
    cut_bytes: int = 0
    set_aside: list[Path] = field(default_factory=list)
    last_good_seq: int = 0
    #: the highest seq found in what was set aside; the journal goes on after it
    highest_seq: int = 0

    @property
    def changed(self) -> bool:
        return self.damaged is not None


def check(directory: Path) -> RepairReport:
    """Find the first damage the next open would stop at, changing nothing."""
    found = load_newest_snapshot(directory, quarantine=False)
    reader = JournalReader(directory, found[0] if found else 0)
    report = RepairReport()
    try:
        for _ in reader.records():
            pass
    except JournalCorrupted as exc:
        report.damaged, report.offset, report.reason = exc.path, exc.offset, exc.reason
    else:
        if reader.torn is not None:
            t = reader.torn
            report.damaged, report.offset, report.reason = t.path, t.offset, t.reason
    report.last_good_seq = reader.last_seq
    return report


def repair(directory: Path) -> RepairReport:
    """Cut the journal at its last good record, keeping every damaged byte aside.

    Takes the directory's lock: a directory another process has open is refused.
    """
    lock = DirectoryLock(directory)
    lock.acquire()
    try:
        return _repair(directory)
    finally:
        lock.release()


def _repair(directory: Path) -> RepairReport:
    report = check(directory)
    if report.damaged is None:
        return report
    report.highest_seq = report.last_good_seq
    for first_seq, path in paths.journal_segments(directory):
        if path == report.damaged:
            seen = _highest_seq_from(path, report.offset, report.last_good_seq + 1)
        elif path.name > report.damaged.name and first_seq > report.last_good_seq:
            seen = _highest_seq_from(path, 0)
        else:
            continue
        report.highest_seq = max(report.highest_seq, seen, first_seq - 1)
    if report.offset == 0:  # the segment's header itself is bad: set the whole file aside
        target = paths.broken_name(report.damaged)
        report.damaged.rename(target)
        report.set_aside.append(target)
        report.cut_bytes = target.stat().st_size
    else:
        _, report.cut_bytes = _save_and_clear(report.damaged, report.offset)
    for first_seq, path in paths.journal_segments(directory):
        if path.name > report.damaged.name and first_seq > report.last_good_seq:
            target = paths.broken_name(path)
            path.rename(target)
            report.set_aside.append(target)
    fsync_directory(directory)
    if report.highest_seq > report.last_good_seq:
        skipped = report.highest_seq - report.last_good_seq
        create_segment(directory, report.highest_seq + 1, SEGMENT_HEADER_LEN, skipped)
    log.warning(
        "repaired %s: cut %d bytes at byte %d (%s); set aside %d later segment(s); "
        "records up to #%d kept, the journal goes on at #%d",
        report.damaged,
        report.cut_bytes,
        report.offset,
        report.reason,
        len(report.set_aside),
        report.last_good_seq,
        report.highest_seq + 1,
    )
    return report
