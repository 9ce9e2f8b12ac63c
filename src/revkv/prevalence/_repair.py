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
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

from revkv import _paths as paths
from revkv.errors import JournalCorrupted, JournalMissing, ManifestCorrupted, StorageError
from revkv.prevalence._dirlock import DirectoryLock
from revkv.prevalence._frames import (
    FRAME_HEADER,
    FRAME_HEADER_LEN,
    SEGMENT_HEADER_LEN,
    SegmentScan,
    encode_segment_header,
    highest_seq_in,
    iter_frames,
    map_file,
    size_without_trailing_zeros,
)
from revkv.prevalence._journal import DEFAULT_SEGMENT_SIZE, create_segment, fsync_directory
from revkv.prevalence._manifest import read_manifest, write_manifest
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
    try:
        with open(broken, "wb") as dst:
            dst.write(damaged)
            dst.flush()
            os.fsync(dst.fileno())
    except BaseException:  # a full disk: no empty .broken, and nothing cut
        broken.unlink(missing_ok=True)
        raise
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
    """What check found (and repair did). `message` is the diagnosis, word for word the
    error start-up raises, so the three never tell different stories."""

    damaged: Path | None = None
    offset: int = 0
    reason: str = ""
    message: str = ""
    #: whether `revkv repair` deals with it; if not, only a person can (a backup)
    repairable: bool = True
    #: a whole segment is gone (not damaged): repair accepts the loss
    missing: bool = False
    cut_bytes: int = 0
    set_aside: list[Path] = field(default_factory=list)
    last_good_seq: int = 0
    #: the highest seq found in (or bound for) what was set aside; the journal goes on after it
    highest_seq: int = 0
    #: shell commands that undo the repair, if run before anything new is written
    undo: list[str] = field(default_factory=list)
    #: the error start-up raises for it, when repair cannot deal with it
    error: StorageError | None = None
    #: (last kept, last set aside) of an earlier repair's cut that the journal steps over
    skipped: tuple[int, int] | None = None

    @property
    def changed(self) -> bool:
        return self.damaged is not None or bool(self.undo)


def check(directory: Path) -> RepairReport:
    """Find the first damage the next open would stop at, changing nothing."""
    report = RepairReport()
    try:
        manifest = read_manifest(directory)
    except ManifestCorrupted as exc:
        report.damaged, report.reason, report.message = exc.path, exc.reason, str(exc)
        report.repairable, report.error = False, exc
        return report
    found = load_newest_snapshot(directory, quarantine=False)
    reader = JournalReader(directory, found[0] if found else 0, manifest)
    try:
        for _ in reader.records():
            pass
    except JournalCorrupted as exc:
        report.damaged, report.offset, report.reason = exc.path, exc.offset, exc.reason
        report.message, report.repairable = str(exc), exc.repairable
        report.error = None if exc.repairable else exc
    except JournalMissing as exc:
        report.damaged, report.reason, report.message = exc.path, exc.reason, str(exc)
        report.missing = True
    else:
        if reader.torn is not None:
            t = reader.torn
            report.damaged, report.offset, report.reason = t.path, t.offset, t.reason
            report.message = (
                f"Journal {t.path} ends in a torn write at byte {t.offset} ({t.reason}), "
                "never acknowledged to anyone; the next start (or `revkv repair`) cuts it, "
                "keeping the bytes in a .broken file"
            )
    report.last_good_seq = reader.last_seq
    report.skipped = reader.skipped
    return report


def repair(directory: Path) -> RepairReport:
    """Cut the journal at its last good record, keeping every damaged byte aside.

    Takes the directory's lock: a directory another process has open is refused. Damage
    only a backup can mend (a missing first segment, a damaged manifest) is refused with
    the same error start-up gives: repair never sets intact records aside for it.
    """
    lock = DirectoryLock(directory)
    lock.acquire()
    try:
        return _repair(directory)
    finally:
        lock.release()


def _repair(directory: Path) -> RepairReport:
    report = check(directory)
    mended: list[str] = []
    while report.damaged is not None and report.offset == 0 and _mend_header(report):
        mended += report.undo
        report = check(directory)
    report.undo[:0] = mended
    if report.damaged is None:
        return report
    if report.error is not None:
        raise report.error  # only a backup mends it; repair changes nothing
    manifest = read_manifest(directory)
    report.highest_seq = report.last_good_seq
    if report.missing:
        assert manifest is not None  # only the manifest tells a segment is missing
        report.highest_seq = max(report.last_good_seq, manifest.reserved_through)
    else:
        _cut(directory, report)
    fsync_directory(directory)
    if report.highest_seq > report.last_good_seq:
        skipped = report.highest_seq - report.last_good_seq
        first = report.highest_seq + 1
        cut = create_segment(directory, first, DEFAULT_SEGMENT_SIZE, skipped)
        report.undo.append(f"rm {cut}")
    if manifest is not None:
        saved = directory / (paths.MANIFEST_FILE + ".pre-repair")
        shutil.copyfile(directory / paths.MANIFEST_FILE, saved)
        report.undo.append(f"cp {saved} {directory / paths.MANIFEST_FILE}")
        newest = paths.journal_segments(directory)[-1][0]
        reserved = max(manifest.reserved_through, report.highest_seq + 1)
        cuts = manifest.cuts
        if report.highest_seq > report.last_good_seq:
            cuts += ((report.last_good_seq, report.highest_seq),)
        write_manifest(
            directory,
            replace(manifest, newest_segment=newest, reserved_through=reserved, cuts=cuts),
        )
    log.info("repaired %s: %s", directory, describe(report))  # `revkv repair` prints it
    return report


def _mend_header(report: RepairReport) -> bool:
    """Write a damaged segment header again when its records are intact; whether it did.

    Only when the name gives the very seq the journal needs next and a record with it
    verifies right after the header: intact records are never set aside for 32 bytes.
    """
    assert report.damaged is not None
    path, first_seq = report.damaged, report.last_good_seq + 1
    if not report.repairable or report.missing or paths.journal_seq(path) != first_seq:
        return False
    data = map_file(path)
    if len(data) < SEGMENT_HEADER_LEN + FRAME_HEADER_LEN:
        return False
    scan = SegmentScan(path, first_seq, first_seq - 1, SEGMENT_HEADER_LEN, len(data))
    if next(iter_frames(data, first_seq, scan), None) is None:
        return False
    broken = paths.broken_name(path)
    with open(broken, "wb") as dst:
        dst.write(bytes(data[:SEGMENT_HEADER_LEN]))
        dst.flush()
        os.fsync(dst.fileno())
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, encode_segment_header(first_seq), 0)
        os.fsync(fd)
    finally:
        os.close(fd)
    log.warning("%s: wrote its damaged header again; the old one is kept in %s", path, broken)
    report.set_aside.append(broken)
    report.undo.append(f"dd if={broken} of={path} bs=32 count=1 conv=notrunc")
    return True


def _cut(directory: Path, report: RepairReport) -> None:
    """Cut at the damage; set later segments aside. Fills in what was done and its undo."""
    assert report.damaged is not None
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
        report.undo.append(f"mv {target} {report.damaged}")
        report.cut_bytes = target.stat().st_size
    else:
        broken, report.cut_bytes = _save_and_clear(report.damaged, report.offset)
        report.set_aside.append(broken)
        report.undo.append(
            f"dd if={broken} of={report.damaged} bs=65536 seek={report.offset} "
            "oflag=seek_bytes conv=notrunc"
        )
    for first_seq, path in paths.journal_segments(directory):
        if path.name > report.damaged.name and first_seq > report.last_good_seq:
            target = paths.broken_name(path)
            path.rename(target)
            report.set_aside.append(target)
            report.undo.append(f"mv {target} {path}")


def describe(report: RepairReport) -> str:
    """What a repair did, for a person: kept, set aside, where revs go on, how to undo."""
    undo = "; ".join(report.undo)
    if report.damaged is None:
        mended = ", ".join(p.name for p in report.set_aside)
        return (
            f"wrote damaged segment headers again, every record kept (old ones in {mended}). "
            f"To undo, before anything new is written: {undo}"
        )
    if report.missing:
        done = f"accepted the loss of {report.damaged}"
    else:
        done = (
            f"cut {report.damaged} at byte {report.offset} ({report.reason}), "
            f"{report.cut_bytes} bytes kept; set aside: "
            + ", ".join(str(p.name) for p in report.set_aside)
        )
    revs = f"records up to {report.last_good_seq} kept"
    if report.missing:
        revs += (
            f"; those after it are lost (revs up to {report.highest_seq} may have been "
            f"handed out), revs go on at {report.highest_seq + 1}"
        )
    elif report.highest_seq > report.last_good_seq:
        revs += (
            f"; records {report.last_good_seq + 1} to {report.highest_seq} set aside, "
            f"revs go on at {report.highest_seq + 1}"
        )
    return f"{done}; {revs}. To undo, before anything new is written: {undo}"
