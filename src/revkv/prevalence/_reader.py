"""Reading the journal back at start-up: which segments, in what order, and what is damage.

The rules: records after the snapshot's seq are replayed in seq order; segments must
chain (each one starts right after the previous one ends); damage is fatal anywhere but
at the very end of the newest segment, where it is the torn write of a crash and is cut
off (by `repair.cut_torn_tail`, which keeps the bytes). Segments wholly covered by the
snapshot are not read at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from revkv import _paths as paths
from revkv.errors import JournalCorrupted, JournalMissing
from revkv.prevalence._frames import (
    SEGMENT_HEADER_LEN,
    Damage,
    SegmentScan,
    data_extent_end,
    iter_frames,
    map_file,
    read_segment_start,
)
from revkv.prevalence._manifest import Manifest


@dataclass(slots=True)
class TornTail:
    path: Path
    offset: int
    size: int
    reason: str


class JournalReader:
    """Yields the records after `after_seq`; afterwards tells where appending resumes."""

    def __init__(self, directory: Path, after_seq: int, manifest: Manifest | None = None) -> None:
        self.directory = directory
        self.after_seq = after_seq
        self.manifest = manifest
        self.segments = self._segments_to_read()
        self.total_bytes = sum(path.stat().st_size for _, path in self.segments)
        self.bytes_done = 0
        self.last_seq = after_seq
        self.tail: tuple[Path, int] | None = None
        self.torn: TornTail | None = None
        #: (last record kept, last seq set aside) of a repair's cut the journal steps over
        self.skipped: tuple[int, int] | None = None

    def _segments_to_read(self) -> list[tuple[int, Path]]:
        """The newest segment starting at or before after_seq + 1, and all after it."""
        segments = paths.journal_segments(self.directory)
        start = 0
        for i, (first_seq, _path) in enumerate(segments):
            if first_seq <= self.after_seq + 1:
                start = i
        return segments[start:]

    def check_end(self) -> None:
        """`JournalMissing` when the newest segment the manifest names is not here.

        Every segment present may verify and chain, and still the newest ones may be
        gone: only the manifest remembers how far the journal had got.
        """
        newest = self.manifest.newest_segment if self.manifest is not None else None
        present = paths.journal_segments(self.directory)
        here = present[-1][0] if present else 0
        if newest is None or here >= newest:
            return
        assert self.manifest is not None
        data = self.directory
        raise JournalMissing(
            data / paths.journal_name(newest),
            f"the manifest (SYSTEM) says the journal had reached a segment starting at "
            f"record {newest}, but the newest segment here starts at record {here}: the "
            f"records from {newest} on were written, acknowledged and are gone",
            f"restore that file from a backup and start again; or, to go on without those "
            f"records, run `revkv repair --data {data}` (revs then continue after "
            f"{self.manifest.reserved_through}, past any the lost records had)",
        )

    def records(self) -> Iterator[tuple[int, memoryview]]:
        expected = self.after_seq + 1
        for index, (_named_seq, path) in enumerate(self.segments):
            newest = index == len(self.segments) - 1
            data = map_file(path)
            try:
                first_seq, skipped = read_segment_start(data, path)
            except ValueError as exc:
                raise JournalCorrupted(path, 0, str(exc)) from None
            scan = SegmentScan(path, first_seq, first_seq - 1, SEGMENT_HEADER_LEN, len(data))
            if skipped and first_seq - skipped <= expected <= first_seq:
                expected = first_seq  # a repair set the records before it aside
                self.skipped = (first_seq - skipped - 1, first_seq - 1)
            self._check_chain(scan, expected, index)
            yield from iter_frames(
                data, first_seq, scan, data_extent_end(path), skip_through=self.after_seq
            )
            if scan.last_seq >= expected - 1:
                expected = scan.last_seq + 1
            self.last_seq = max(self.last_seq, scan.last_seq)
            if scan.damage is not None:
                self._judge(scan, scan.damage, newest)
            if newest:
                self.tail = (path, scan.good_end)
            self.bytes_done += scan.size
        self.check_end()  # last: the records before the loss are read, and counted

    def _check_chain(self, scan: SegmentScan, expected: int, index: int) -> None:
        if index == 0 and scan.first_seq > expected:
            raise JournalCorrupted(
                scan.path,
                0,
                f"it starts at record {scan.first_seq} but the newest usable snapshot needs "
                f"the journal from record {expected}; records are missing",
                repair_hint="restore the missing segments or a newer snapshot from a backup",
            )
        if index > 0 and scan.first_seq != expected:
            raise JournalCorrupted(
                scan.path,
                0,
                f"it starts at record {scan.first_seq} but the previous segment ends at "
                f"record {expected - 1} (a gap or overlap between segments)",
            )

    def _judge(self, scan: SegmentScan, damage: Damage, newest: bool) -> None:
        if newest and damage.at_tail:
            self.torn = TornTail(scan.path, damage.offset, scan.size, damage.reason)
            return
        where = "in the newest segment, before its end" if newest else "in an older segment"
        raise JournalCorrupted(scan.path, damage.offset, f"{damage.reason} ({where})")
