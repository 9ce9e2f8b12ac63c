"""Snapshots: the whole state at one seq, written atomically and verified on load.

A snapshot file::

    magic "RVKSNAP\\0" | version u16 | flags u16 | reserved u32 | seq u64 | body_len u64 |
    crc32c(body) u32 | crc32c(previous 32 bytes) u32 | body (the codec's encoding of the state)

Written as temp file -> fsync -> rename -> fsync the directory, so a crash leaves either
the old set of snapshots or the new one, never half a file under a snapshot's name.
Loaded newest first; one that does not verify is renamed `.broken` and the next older
one is tried, which costs a longer replay but loses nothing (etcd's snapshotter does the
same, minus the quarantine).
"""

from __future__ import annotations

import logging
import os
import struct
from pathlib import Path

import crc32c

from revkv import _paths as paths
from revkv.errors import SnapshotCorrupted
from revkv.prevalence._journal import fsync_directory

log = logging.getLogger(__name__)

MAGIC = b"RVKSNAP\x00"
FORMAT_VERSION = 1
HEADER = struct.Struct("<8sHHIQQII")
HEADER_LEN = 40
assert HEADER.size == HEADER_LEN


def encode_header(seq: int, body: bytes) -> bytes:
    head = struct.pack(
        "<8sHHIQQI", MAGIC, FORMAT_VERSION, 0, 0, seq, len(body), crc32c.crc32c(body)
    )
    return head + struct.pack("<I", crc32c.crc32c(head))


def write_snapshot_atomically(directory: Path, seq: int, body: bytes) -> Path:
    final = directory / paths.snapshot_name(seq)
    tmp = final.with_name(final.name + paths.TMP_SUFFIX)
    try:
        with open(tmp, "wb") as f:
            f.write(encode_header(seq, body))
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, final)
    except BaseException:  # a full disk, say: leave no half file to fill it further
        tmp.unlink(missing_ok=True)
        raise
    fsync_directory(directory)
    return final


def read_snapshot(path: Path) -> tuple[int, memoryview]:
    """(seq, body) of a snapshot; SnapshotCorrupted when it does not verify."""
    data = path.read_bytes()
    if len(data) < HEADER_LEN:
        raise SnapshotCorrupted(path, f"{len(data)} bytes, shorter than its header")
    magic, version, _flags, _res, seq, body_len, body_crc, head_crc = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise SnapshotCorrupted(path, "not a revkv snapshot (bad magic)")
    if crc32c.crc32c(data[: HEADER_LEN - 4]) != head_crc:
        raise SnapshotCorrupted(path, "header checksum mismatch")
    if version != FORMAT_VERSION:
        raise SnapshotCorrupted(path, f"snapshot format version {version} is not supported")
    body = memoryview(data)[HEADER_LEN:]  # no copy of what may be hundreds of megabytes
    if len(body) != body_len:
        raise SnapshotCorrupted(path, f"body is {len(body)} bytes, header says {body_len}")
    if crc32c.crc32c(body) != body_crc:
        raise SnapshotCorrupted(path, "body checksum mismatch")
    return int(seq), body


def load_newest_snapshot(
    directory: Path, *, quarantine: bool = True
) -> tuple[int, memoryview] | None:
    """The newest snapshot that verifies; damaged newer ones are set aside as `.broken`."""
    for seq, path in reversed(paths.snapshots(directory)):
        try:
            found_seq, body = read_snapshot(path)
        except SnapshotCorrupted as exc:
            log.warning("%s; falling back to an older snapshot and a longer replay", exc)
            if quarantine:
                path.rename(paths.broken_name(path))
                fsync_directory(directory)
            continue
        if found_seq != seq:
            log.warning("%s holds seq %d, not the %d of its name; skipped", path, found_seq, seq)
            continue
        return seq, body
    return None
