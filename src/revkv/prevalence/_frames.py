"""The journal's bytes: segment header and record frames, encoded and scanned.

A segment file::

    +--------------------------------------------------------------+
    | segment header, 32 bytes                                     |
    |   magic "RVKJRNL\\0" | version u16 | flags u16 | skipped u32  |
    |   first_seq u64 | crc32c(previous 24 bytes) u32 | pad u32    |
    +--------------------------------------------------------------+
    | frame: crc u32 | flags:4 body_len:28 u32 | seq u64 | body | zero pad |
    | frame ...                                                    |
    | zeros: preallocated space not yet written                   |
    +--------------------------------------------------------------+

All integers little-endian. A frame's crc is CRC32C over the rest of its header (flags,
length, seq) and its body, so a record moved elsewhere in the journal does not verify.
Frames are padded to a multiple of 8 bytes: a frame header then never straddles a sector
boundary, and a torn write cannot leave half a length word behind (etcd's
encodeFrameSize does the same). Record seqs are contiguous within and across segments;
a gap or reorder is corruption. Segments are preallocated, so a clean end is followed by
zeros: fdatasync() of a write inside allocated space need not commit file-size metadata,
which makes each durable write markedly cheaper.

Torn tail or damage? The first frame of each write is flagged SYNCED when every byte
before it was already durable (after an fsync, which is every write under the `always`
policy). A crash can only mangle bytes written after the last fsync, so damage followed
by a verifying SYNCED frame lies in data that had been made durable: real damage.

Within the last write, record by record: a crash tears a write by leaving some of its
sectors unwritten, and an unwritten sector holds what was there before, zeros (segments
are preallocated, and repair zeroes what it cuts); sectors can reach the disk out of
order, so later records of a torn write may verify. So damage followed by a verifying
record of the same write is a tear only if some 512-byte sector between them reads as
zeros; otherwise the bytes were all written and are wrong (a flipped bit, a bad sector):
records that may well have been acknowledged are damaged, and start-up refuses. Damage
followed by nothing verifiable is a torn write, never acknowledged to anyone (a flipped
bit in the very last record looks the same, and is cut the same way).

A segment flagged CUT starts `skipped` seqs after the end of the one before it: a repair
set those records aside, and revs (which are seqs) must never be handed out twice, so
the journal goes on after the highest seq it had ever written. The gap is exact: any
other gap between segments is still a missing segment.

This module knows bytes and offsets only. It never truncates anything: damage found by
`scan_segment` is reported, and cutting it off is `repair.py`'s job (or, for a torn
tail, the journal opener's, which logs how much it cut).
"""

from __future__ import annotations

import mmap
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import crc32c

MAGIC = b"RVKJRNL\x00"
FORMAT_VERSION = 1

SEGMENT_HEADER = struct.Struct("<8sHHIQII")
SEGMENT_HEADER_LEN = 32
assert SEGMENT_HEADER.size == SEGMENT_HEADER_LEN

FRAME_HEADER = struct.Struct("<IIQ")  # crc, flags|length, seq
FRAME_HEADER_LEN = 16
assert FRAME_HEADER.size == FRAME_HEADER_LEN
_COVERED = struct.Struct("<IQ")  # what the crc covers besides the body

CUT = 1  # segment flag: `skipped` seqs before this segment were set aside by a repair
MAX_SKIP = (1 << 32) - 1

SYNCED = 1 << 31  # every byte before this frame was durable when it was written
LENGTH_MASK = (1 << 28) - 1

ALIGN = 8
MAX_BODY = LENGTH_MASK  # 256 MiB; a longer record does not fit the length field
_PAD = bytes(ALIGN)

Buffer = bytes | mmap.mmap


def encode_segment_header(first_seq: int, skipped: int = 0) -> bytes:
    if not 0 <= skipped <= MAX_SKIP:
        raise ValueError(f"a segment can follow a gap of at most {MAX_SKIP} seqs, not {skipped}")
    flags = CUT if skipped else 0
    head = struct.pack("<8sHHIQ", MAGIC, FORMAT_VERSION, flags, skipped, first_seq)
    return head + struct.pack("<II", crc32c.crc32c(head), 0)


def encode_frame(seq: int, body: bytes, flags: int = 0) -> bytes:
    """One record, ready to append."""
    covered = _COVERED.pack(len(body) | flags, seq)
    crc = crc32c.crc32c(body, crc32c.crc32c(covered))
    return struct.pack("<I", crc) + covered + body + _PAD[: -len(body) % ALIGN]


@dataclass(frozen=True, slots=True)
class Damage:
    """Where and why a segment stopped verifying.

    `at_tail` is true when nothing verifiable follows the damage: the signature of a
    write that was cut short by a crash (or of a flipped bit in the very last record,
    which cannot be told apart from one).
    """

    offset: int
    reason: str
    at_tail: bool


@dataclass(slots=True)
class SegmentScan:
    """The outcome of reading one segment: its good records end at `good_end`."""

    path: Path
    first_seq: int
    last_seq: int  # first_seq - 1 when the segment holds no record
    good_end: int
    size: int
    damage: Damage | None = None


def read_segment_header(data: Buffer, path: Path) -> int:
    """The segment's first seq; raises ValueError when the header does not verify."""
    return read_segment_start(data, path)[0]


def read_segment_start(data: Buffer, path: Path) -> tuple[int, int]:
    """(first seq, seqs skipped before it by a repair); ValueError when it does not verify."""
    if len(data) < SEGMENT_HEADER_LEN:
        raise ValueError(f"segment header is {len(data)} bytes, expected {SEGMENT_HEADER_LEN}")
    magic, version, flags, skipped, first_seq, crc, _pad = SEGMENT_HEADER.unpack_from(data)
    if magic != MAGIC:
        raise ValueError(f"{path.name} is not a revkv journal segment (bad magic)")
    if crc32c.crc32c(data[:24]) != crc:
        raise ValueError("segment header checksum mismatch")
    if version != FORMAT_VERSION:
        raise ValueError(f"journal format version {version} is not supported")
    return int(first_seq), int(skipped) if flags & CUT else 0


def iter_frames(
    data: Buffer,
    first_seq: int,
    scan: SegmentScan,
    data_end: int | None = None,
    skip_through: int = 0,
) -> Iterator[tuple[int, memoryview]]:
    """Yield (seq, body) of each verified record, updating `scan` as it goes.

    Stops at the zeros of unused preallocated space (a clean end) or at the first frame
    that does not verify, which it records in `scan.damage`. `data_end`, when known, is
    where the file's data extents end (see `data_extent_end`): nothing after it needs
    checking. Records up to `skip_through` (covered by a snapshot) are stepped over
    without checksumming or yielding them. Bodies are views into `data`; copy them if
    they must outlive it.
    """
    view = memoryview(data)
    size = len(data)
    offset = SEGMENT_HEADER_LEN
    expected = first_seq
    unpack = FRAME_HEADER.unpack_from
    crc_of = crc32c.crc32c
    try:
        while offset + FRAME_HEADER_LEN <= size:
            crc, word, seq = unpack(data, offset)
            length = word & LENGTH_MASK
            end = offset + FRAME_HEADER_LEN + length
            if seq != expected or end + (-length % ALIGN) > size:
                break
            if seq <= skip_through:
                expected = seq + 1
                offset = end + (-length % ALIGN)
                continue
            body = view[offset + FRAME_HEADER_LEN : end]
            if crc_of(body, crc_of(view[offset + 4 : offset + FRAME_HEADER_LEN])) != crc:
                break
            yield seq, body
            expected = seq + 1
            offset = end + (-length % ALIGN)
    finally:
        scan.last_seq = expected - 1
        scan.good_end = offset
    limit = size if data_end is None else min(size, data_end)
    if first_nonzero(data, offset, limit) < 0:
        return
    reason = _frame_problem(data, offset, expected)
    at_tail = not _written_after(data, offset, expected, limit)
    scan.damage = Damage(offset, reason, at_tail=at_tail)


def data_extent_end(path: Path) -> int | None:
    """Where the file's last data extent ends, by SEEK_DATA/SEEK_HOLE; None if unknown.

    Preallocated, never-written space is a hole to these calls on ext4 and xfs, so the
    clean end of a segment is found without reading its unused megabytes.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        end, pos = 0, 0
        while True:
            try:
                start = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError:  # ENXIO: no data after pos
                return end
            end = pos = os.lseek(fd, start, os.SEEK_HOLE)
    except OSError:
        return None
    finally:
        os.close(fd)


_CHUNK = 1 << 20
_ZEROS = bytes(_CHUNK)


def first_nonzero(data: Buffer, offset: int, limit: int | None = None) -> int:
    """Offset of the first non-zero byte in `data[offset:limit]`, or -1.

    Compares whole chunks with zeros (a memcmp) and strips only a chunk that differs:
    the unused preallocated end of a segment is checked at memory speed.
    """
    size = len(data) if limit is None else limit
    while offset < size:
        chunk = data[offset : min(offset + _CHUNK, size)]
        if chunk != _ZEROS[: len(chunk)]:
            return offset + len(chunk) - len(chunk.lstrip(b"\x00"))
        offset += len(chunk)
    return -1


def size_without_trailing_zeros(data: Buffer, limit: int | None = None) -> int:
    end = len(data) if limit is None else min(limit, len(data))
    while end > 0:
        start = max(0, end - _CHUNK)
        chunk = data[start:end]
        if chunk != _ZEROS[: len(chunk)]:
            return start + len(chunk.rstrip(b"\x00"))
        end = start
    return 0


def map_file(path: Path) -> Buffer:
    """The file's bytes, memory-mapped: preallocated zeros cost nothing until touched."""
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            return b""
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)


def _frame_problem(data: Buffer, offset: int, expected: int) -> str:
    """Why the frame at `offset` is not record `expected`."""
    if len(data) - offset < FRAME_HEADER_LEN:
        return f"{len(data) - offset} stray bytes where a record header should be"
    _crc, word, seq = FRAME_HEADER.unpack_from(data, offset)
    length = word & LENGTH_MASK
    if word == 0 and seq == 0:
        return "zeroed bytes where a record should be"
    if offset + FRAME_HEADER_LEN + length + (-length % ALIGN) > len(data):
        return f"record {seq} claims {length} bytes, past the end of the segment"
    if seq != expected:
        return f"record seq {seq} where {expected} was expected (a gap or reorder)"
    return f"checksum mismatch in record {seq}"


SECTOR = 512


def _written_after(data: Buffer, offset: int, expected: int, limit: int) -> bool:
    """Whether the damage at `offset` lies in bytes that were written (not a torn write).

    True when a verifying SYNCED frame that could follow `expected - 1` lies after it,
    or when the first verifying frame after it does and no sector between them reads as
    zeros (see the module docstring). Scans the 8-byte aligned positions up to the last
    non-zero byte.
    """
    end = size_without_trailing_zeros(data, limit)
    unpack = FRAME_HEADER.unpack_from
    pos = offset + ALIGN
    first = True
    while pos + FRAME_HEADER_LEN <= end:
        crc, word, seq = unpack(data, pos)
        length = word & LENGTH_MASK
        stop = pos + FRAME_HEADER_LEN + length
        if expected <= seq < expected + (1 << 24) and stop <= len(data):
            covered = crc32c.crc32c(data[pos + 4 : pos + FRAME_HEADER_LEN])
            if crc32c.crc32c(data[pos + FRAME_HEADER_LEN : stop], covered) == crc:
                if word & SYNCED or (first and not _zero_sector_within(data, offset, pos)):
                    return True
                first = False
        pos += ALIGN
    return False


def _zero_sector_within(data: Buffer, start: int, end: int) -> bool:
    """Whether the part of some 512-byte sector inside `data[start:end]` is all zeros."""
    sector = start - start % SECTOR
    while sector < end:
        piece = data[max(start, sector) : min(end, sector + SECTOR)]
        if piece and piece == _ZEROS[: len(piece)]:
            return True
        sector += SECTOR
    return False


def highest_seq_in(data: Buffer, offset: int) -> int:
    """The highest seq of any frame that verifies at an aligned position from `offset`, or 0.

    For bytes a repair sets aside: whatever seq they reached was handed out as a rev.
    """
    end = size_without_trailing_zeros(data)
    unpack = FRAME_HEADER.unpack_from
    highest = 0
    pos = offset + (-offset % ALIGN)
    while pos + FRAME_HEADER_LEN <= end:
        crc, word, seq = unpack(data, pos)
        stop = pos + FRAME_HEADER_LEN + (word & LENGTH_MASK)
        if seq > highest and stop <= len(data):
            covered = crc32c.crc32c(data[pos + 4 : pos + FRAME_HEADER_LEN])
            if crc32c.crc32c(data[pos + FRAME_HEADER_LEN : stop], covered) == crc:
                highest = seq
        pos += ALIGN
    return int(highest)


def scan_segment(path: Path) -> tuple[SegmentScan, list[tuple[int, memoryview]]]:
    """Read and verify a whole segment; the records come back as a list.

    A header that does not verify is damage at offset 0.
    """
    data = map_file(path)
    try:
        first_seq = read_segment_header(data, path)
    except ValueError as exc:
        scan = SegmentScan(path, 0, -1, 0, len(data), Damage(0, str(exc), at_tail=False))
        return scan, []
    scan = SegmentScan(path, first_seq, first_seq - 1, SEGMENT_HEADER_LEN, len(data))
    records = list(iter_frames(data, first_seq, scan, data_extent_end(path)))
    return scan, records
