"""Damage on disk: torn tails are cut, damage before the tail stops start-up, repair fixes it."""

from __future__ import annotations

import logging
import struct
from pathlib import Path

import pytest

from revkv import _paths as paths
from revkv.errors import JournalCorrupted
from revkv.prevalence import control, open_system
from revkv.prevalence._frames import (
    FRAME_HEADER_LEN,
    LENGTH_MASK,
    SEGMENT_HEADER_LEN,
    size_without_trailing_zeros,
)
from revkv.prevalence._journal import Journal
from revkv.prevalence._reader import JournalReader
from revkv.prevalence._repair import check, repair
from tests.domains import Counter


def make(path: Path, n: int, **kw: object) -> None:
    system = open_system(Counter, path, **kw)
    for i in range(n):
        system.set(f"k{i}", f"value-{i}")
    system.close()


def only_segment(path: Path) -> Path:
    segments = paths.journal_segments(path)
    assert len(segments) == 1
    return segments[0][1]


def frame_offsets(path: Path) -> list[int]:
    data = path.read_bytes()
    offsets, pos = [], SEGMENT_HEADER_LEN
    end = data_end(path)
    while pos + FRAME_HEADER_LEN <= end:
        offsets.append(pos)
        (word,) = struct.unpack_from("<I", data, pos + 4)
        length = word & LENGTH_MASK
        pos += FRAME_HEADER_LEN + length + (-length % 8)
    return offsets


def data_end(path: Path) -> int:
    """Where the records end; preallocated zeros follow."""
    return size_without_trailing_zeros(path.read_bytes())


def overwrite(path: Path, offset: int, data: bytes) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def flip(path: Path, offset: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([byte ^ 0x55]))


def test_a_torn_last_record_is_cut_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    make(tmp_path, 10)
    segment = only_segment(tmp_path)
    end = data_end(segment)
    overwrite(segment, end - 5, bytes(5))  # the end of the last write never reached the disk
    with caplog.at_level(logging.WARNING):
        system = open_system(Counter, tmp_path)
    assert len(system.data) == 9
    assert "cut" in caplog.text and "torn write" in caplog.text
    system.set("after", 1)  # appends after the cut, seqs stay contiguous
    system.close()
    system = open_system(Counter, tmp_path)
    assert len(system.data) == 10 and "k9" not in system.data
    system.close()
    assert list(tmp_path.glob("*.broken"))  # the cut bytes were kept


def test_a_flipped_byte_in_the_tail_record_is_cut(tmp_path: Path) -> None:
    make(tmp_path, 10)
    segment = only_segment(tmp_path)
    flip(segment, data_end(segment) - 12)
    system = open_system(Counter, tmp_path)
    assert len(system.data) == 9
    system.close()


def test_garbage_after_the_tail_is_cut(tmp_path: Path) -> None:
    make(tmp_path, 5)
    segment = only_segment(tmp_path)
    overwrite(segment, data_end(segment) + 8, b"\x07" * 100)
    system = open_system(Counter, tmp_path)
    assert len(system.data) == 5
    system.close()


def test_damage_in_the_middle_stops_startup_naming_file_offset_and_repair(tmp_path: Path) -> None:
    make(tmp_path, 10)
    segment = only_segment(tmp_path)
    flip(segment, frame_offsets(segment)[3] + FRAME_HEADER_LEN + 1)
    with pytest.raises(JournalCorrupted) as info:
        open_system(Counter, tmp_path)
    error = info.value
    assert error.path == segment
    assert error.offset == frame_offsets(segment)[3]
    assert f"revkv repair --data {tmp_path}" in str(error)
    assert f"at byte {error.offset}" in str(error)

    report = repair(tmp_path)
    assert report.changed and report.offset == error.offset
    assert check(tmp_path).damaged is None
    system = open_system(Counter, tmp_path)
    assert 0 < len(system.data) < 10
    assert all(system.data[f"k{i}"] == f"value-{i}" for i in range(len(system.data)))
    system.close()
    assert list(tmp_path.glob("*.broken"))


def test_damage_in_an_older_segment_is_never_a_tail(tmp_path: Path) -> None:
    make(tmp_path, 60, segment_size=600)
    segments = paths.journal_segments(tmp_path)
    assert len(segments) > 2
    older = segments[1][1]
    flip(older, data_end(older) - 3)  # its last record, long since fsynced
    with pytest.raises(JournalCorrupted, match="older segment"):
        open_system(Counter, tmp_path)
    repair(tmp_path)
    system = open_system(Counter, tmp_path)
    assert len(system.data) < 60
    system.close()


def test_a_missing_segment_is_a_gap(tmp_path: Path) -> None:
    make(tmp_path, 60, segment_size=600, keep_journal=True)
    segments = paths.journal_segments(tmp_path)
    segments[1][1].unlink()
    with pytest.raises(JournalCorrupted, match="gap or overlap"):
        open_system(Counter, tmp_path)


def test_a_damaged_newest_snapshot_falls_back_to_an_older_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    system = open_system(Counter, tmp_path)
    for i in range(10):
        system.set(str(i), i)
    system.take_snapshot()
    for i in range(10, 20):
        system.set(str(i), i)
    system.take_snapshot()
    system.close()
    newest = paths.snapshots(tmp_path)[-1][1]
    flip(newest, newest.stat().st_size - 3)
    with caplog.at_level(logging.WARNING):
        system = open_system(Counter, tmp_path)
    assert len(system.data) == 20
    assert control(system).stats["snapshot_seq"] == 10
    assert "body checksum mismatch" in caplog.text
    system.close()
    assert newest.with_name(newest.name + ".broken").exists()


def test_a_truncated_snapshot_falls_back(tmp_path: Path) -> None:
    make(tmp_path, 5)
    system = open_system(Counter, tmp_path)
    system.take_snapshot()
    system.close()
    newest = paths.snapshots(tmp_path)[-1][1]
    newest.write_bytes(newest.read_bytes()[:30])
    system = open_system(Counter, tmp_path)
    assert len(system.data) == 5
    system.close()


def test_leftover_temp_files_are_removed(tmp_path: Path) -> None:
    make(tmp_path, 3)
    (tmp_path / (paths.snapshot_name(99) + paths.TMP_SUFFIX)).write_bytes(b"half")
    system = open_system(Counter, tmp_path)
    assert len(system.data) == 3
    system.close()
    assert not list(tmp_path.glob("*.tmp"))


def test_a_flipped_byte_in_an_acknowledged_batch_refuses_start_naming_repair(
    tmp_path: Path,
) -> None:
    """A real journal: a batch of 5, then one fsync batch of 15 (acknowledged together).
    A flipped byte in the 15's first record is damage, not a torn write to be cut."""
    open_system(Counter, tmp_path).close()  # a prevalence directory, with its SYSTEM
    journal = Journal(tmp_path, next_seq=1)
    for batch in (5, 15):
        for i in range(batch):
            journal.append(b"record %d of a batch of %d" % (i, batch))
        journal.flush()
    assert journal.stats.batches == 2
    journal.close()
    segment = only_segment(tmp_path)
    flip(segment, frame_offsets(segment)[5] + FRAME_HEADER_LEN + 4)
    reader = JournalReader(tmp_path, 0)
    with pytest.raises(JournalCorrupted) as info:
        list(reader.records())
    assert info.value.offset == frame_offsets(segment)[5]
    assert f"revkv repair --data {tmp_path}" in str(info.value)
    report = repair(tmp_path)
    assert (report.last_good_seq, report.highest_seq) == (5, 20)
