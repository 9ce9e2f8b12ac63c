"""The journal's byte format: frames, padding, checksums, and telling a torn tail from damage."""

from __future__ import annotations

from pathlib import Path

import pytest

from revkv.prevalence._frames import (
    ALIGN,
    FRAME_HEADER_LEN,
    SEGMENT_HEADER_LEN,
    SYNCED,
    encode_frame,
    encode_segment_header,
    read_segment_header,
    scan_segment,
)


def write_segment(
    path: Path, first_seq: int, bodies: list[bytes], *, synced: bool = True
) -> list[int]:
    """Write a segment, each record its own fsynced write unless `synced` is false."""
    data = bytearray(encode_segment_header(first_seq))
    offsets = []
    for i, body in enumerate(bodies):
        offsets.append(len(data))
        data += encode_frame(first_seq + i, body, SYNCED if synced or i == 0 else 0)
    path.write_bytes(bytes(data))
    return offsets


def test_frames_are_padded_to_eight_bytes() -> None:
    for n in range(20):
        frame = encode_frame(1, b"x" * n)
        assert len(frame) % ALIGN == 0
        assert len(frame) >= FRAME_HEADER_LEN + n


def test_segment_header_roundtrip(tmp_path: Path) -> None:
    header = encode_segment_header(42)
    assert len(header) == SEGMENT_HEADER_LEN
    assert read_segment_header(header, tmp_path / "x") == 42


def test_segment_header_checksum_is_checked(tmp_path: Path) -> None:
    header = bytearray(encode_segment_header(42))
    header[16] ^= 1
    with pytest.raises(ValueError, match="checksum"):
        read_segment_header(bytes(header), tmp_path / "x")


def test_scan_returns_every_record(tmp_path: Path) -> None:
    path = tmp_path / "seg"
    bodies = [b"", b"a", b"hello world", bytes(range(256))]
    write_segment(path, 7, bodies)
    scan, records = scan_segment(path)
    assert scan.damage is None
    assert [seq for seq, _ in records] == [7, 8, 9, 10]
    assert [bytes(body) for _, body in records] == bodies
    assert scan.good_end == scan.size


@pytest.mark.parametrize("cut", [1, 5, FRAME_HEADER_LEN, FRAME_HEADER_LEN + 3])
def test_a_cut_last_record_is_a_torn_tail(tmp_path: Path, cut: int) -> None:
    path = tmp_path / "seg"
    offsets = write_segment(path, 1, [b"a" * 30, b"b" * 30, b"c" * 30])
    path.write_bytes(path.read_bytes()[: offsets[2] + cut])
    scan, records = scan_segment(path)
    assert len(records) == 2
    assert scan.damage is not None and scan.damage.at_tail
    assert scan.damage.offset == offsets[2] == scan.good_end


def test_a_flipped_byte_in_the_last_record_is_a_torn_tail(tmp_path: Path) -> None:
    path = tmp_path / "seg"
    offsets = write_segment(path, 1, [b"a" * 30, b"b" * 30])
    data = bytearray(path.read_bytes())
    data[offsets[1] + FRAME_HEADER_LEN + 2] ^= 0xFF
    path.write_bytes(bytes(data))
    scan, records = scan_segment(path)
    assert len(records) == 1
    assert scan.damage is not None and scan.damage.at_tail
    assert "checksum" in scan.damage.reason


def test_a_flipped_byte_before_good_records_is_damage_not_a_tail(tmp_path: Path) -> None:
    path = tmp_path / "seg"
    offsets = write_segment(path, 1, [b"a" * 30, b"b" * 30, b"c" * 30, b"d" * 30])
    data = bytearray(path.read_bytes())
    data[offsets[1] + FRAME_HEADER_LEN] ^= 0x01
    path.write_bytes(bytes(data))
    scan, records = scan_segment(path)
    assert len(records) == 1
    assert scan.damage is not None
    assert not scan.damage.at_tail
    assert scan.damage.offset == offsets[1]


def test_a_damaged_length_word_before_good_records_is_damage(tmp_path: Path) -> None:
    path = tmp_path / "seg"
    offsets = write_segment(path, 1, [b"a" * 30, b"b" * 30, b"c" * 30])
    data = bytearray(path.read_bytes())
    data[offsets[0] + 3] = 0x7F  # an absurd length
    path.write_bytes(bytes(data))
    scan, records = scan_segment(path)
    assert records == []
    assert scan.damage is not None and not scan.damage.at_tail


def test_preallocated_zeros_are_a_clean_end(tmp_path: Path) -> None:
    path = tmp_path / "seg"
    write_segment(path, 1, [b"a" * 30, b"b\x00\x00"])
    path.write_bytes(path.read_bytes() + bytes(1 << 21))
    scan, records = scan_segment(path)
    assert [bytes(b) for _, b in records] == [b"a" * 30, b"b\x00\x00"]
    assert scan.damage is None


def test_damage_within_one_unsynced_write_is_a_torn_tail(tmp_path: Path) -> None:
    """A crash can mangle any part of the last, unsynced write, even its first frame."""
    path = tmp_path / "seg"
    offsets = write_segment(path, 1, [b"a" * 30, b"b" * 30, b"c" * 30], synced=False)
    data = bytearray(path.read_bytes())
    data[offsets[0] : offsets[1]] = bytes(offsets[1] - offsets[0])  # never reached the disk
    path.write_bytes(bytes(data))
    scan, records = scan_segment(path)
    assert records == []
    assert scan.damage is not None and scan.damage.at_tail


def test_a_record_moved_elsewhere_does_not_verify(tmp_path: Path) -> None:
    """The CRC covers the seq: a frame copied to another position is a gap, not a record."""
    path = tmp_path / "seg"
    data = bytearray(encode_segment_header(1))
    data += encode_frame(1, b"one")
    data += encode_frame(3, b"three")
    path.write_bytes(bytes(data))
    scan, records = scan_segment(path)
    assert len(records) == 1
    assert scan.damage is not None
    assert "gap or reorder" in scan.damage.reason


def test_a_flipped_byte_in_the_first_record_of_the_last_write_is_damage(tmp_path: Path) -> None:
    """Every byte of the write reached the disk (its later records verify, no sector is
    zeros): the records were written, maybe acknowledged, and one is wrong."""
    path = tmp_path / "seg"
    offsets = write_segment(path, 1, [b"r%02d" % i * 10 for i in range(15)], synced=False)
    data = bytearray(path.read_bytes())
    data[offsets[0] + FRAME_HEADER_LEN + 3] ^= 0x10
    path.write_bytes(bytes(data))
    scan, records = scan_segment(path)
    assert records == []
    assert scan.damage is not None and not scan.damage.at_tail


def test_a_write_torn_by_sectors_out_of_order_is_a_torn_tail(tmp_path: Path) -> None:
    """Its first record's second sector never reached the disk; later sectors did."""
    path = tmp_path / "seg"
    offsets = write_segment(path, 1, [b"x" * 1500, b"y" * 40, b"z" * 40], synced=False)
    data = bytearray(path.read_bytes())
    data[512:1024] = bytes(512)  # inside the first record (which starts at byte 32)
    path.write_bytes(bytes(data))
    scan, records = scan_segment(path)
    assert records == [] and offsets[1] > 1024
    assert scan.damage is not None and scan.damage.at_tail
