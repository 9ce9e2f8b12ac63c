"""Backups: a consistent copy of a live prevalence directory, without stopping writers.

A copy is what a restart needs and nothing else: the newest snapshot, the journal
segments after it (each cut at the last record the copy includes) and a manifest
(`SYSTEM`) naming the newest segment copied. Opened as is (`revkv serve --data COPY`),
it replays to the same state with the same seqs, and so the same revs.

Why it is consistent while writers go on:

- every file is opened before any is read, and read through its descriptor: a snapshot
  taken meanwhile may prune (unlink) the files, but an open file lives until closed.
  A file pruned between the listing and the opening makes the plan start again;
- segments are append-only and records are written in seq order, so a segment read
  while it grows yields whole, verifying records up to some seq, then bytes that do not
  verify (a record half-written, zeros); the copy stops at the last record that
  verifies, or at `upto` when the caller knows what is durable (the server does);
- everything acknowledged before the backup started was durable, so it is in the
  files listed, at or below `upto` and before any bytes that do not verify.

The server takes a snapshot first (`EmbeddedStore.backup_plan`): writers wait only for
the state to be captured, as for any snapshot, and the copy replays little. A copy made
beside a running server from the directory alone (`revkv backup` on a locked `--data`)
has the server's newest snapshot and the whole journal after it.

The copy is written as temp file, fsync, rename, then fsync the directory, and checked
by reading it back as start-up would; on any failure what was written is removed.
Streamed over HTTP the same files are a tar archive (`tar_chunks`), the manifest last.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import re
import shutil
import tarfile
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any, cast

from revkv import _paths as paths
from revkv.errors import PrevalenceError, StorageError
from revkv.prevalence._frames import (
    FRAME_HEADER_LEN,
    SEGMENT_HEADER_LEN,
    SegmentScan,
    iter_frames,
    read_segment_start,
)
from revkv.prevalence._journal import fsync_directory
from revkv.prevalence._manifest import read_manifest
from revkv.prevalence._reader import JournalReader
from revkv.prevalence._snapshot import read_snapshot

CHUNK = 1 << 20
ATTEMPTS = 20  # listings to try while snapshots keep pruning what was listed
BLOCK = tarfile.BLOCKSIZE
#: the names a backup may hold (what a tar from a server is checked against)
NAMES = re.compile(r"^(SYSTEM|journal-\d{20}\.log|snapshot-\d{20}\.snap)$")


class BackupFailed(StorageError):
    """A backup could not be made, or its copy did not verify; nothing is left behind."""


@dataclass(slots=True)
class SourceFile:
    """One file of the copy: `length` bytes read through `fd` (or `data`, for SYSTEM)."""

    name: str
    length: int
    fd: int = -1
    data: bytes = b""


@dataclass(slots=True)
class BackupPlan:
    """The files of a copy, opened; `last_seq` is the newest record (rev) it holds."""

    source: Path
    snapshot_seq: int
    last_seq: int
    files: list[SourceFile] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(f.length for f in self.files)

    def close(self) -> None:
        for f in self.files:
            if f.fd >= 0:
                os.close(f.fd)
                f.fd = -1

    def __enter__(self) -> BackupPlan:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True, slots=True)
class BackupResult:
    directory: Path
    snapshot_seq: int
    last_seq: int
    files: int
    bytes: int
    seconds: float

    def to_dict(self) -> dict[str, object]:
        return {
            "dir": str(self.directory),
            "rev": self.last_seq,
            "snapshot_rev": self.snapshot_seq,
            "files": self.files,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
        }


# -- planning --------------------------------------------------------------------------


def plan_backup(directory: Path, upto: int | None = None) -> BackupPlan:
    """Open the files of a copy of `directory` as it is now (see the module docstring).

    `upto`: the newest durable seq, when the caller knows it; the copy then ends there
    (or at the snapshot, if a newer one was taken meanwhile). Without it the copy ends
    at the last record that verifies.
    """
    for _attempt in range(ATTEMPTS):
        plan = _try_plan(directory, upto)
        if plan is not None:
            return plan
        time.sleep(0.01)
    raise BackupFailed(f"{directory}: snapshots kept removing the files a backup needs; try again")


def _try_plan(directory: Path, upto: int | None) -> BackupPlan | None:
    """A plan, or None when a listed file was pruned before it could be opened."""
    if read_manifest(directory) is None:
        raise BackupFailed(f"{directory} holds no store to back up (it has no SYSTEM file)")
    plan = BackupPlan(directory, 0, 0)
    try:
        snapshots = paths.snapshots(directory)
        if snapshots:
            seq, path = snapshots[-1]
            fd = _open(path)
            plan.files.append(SourceFile(path.name, os.fstat(fd).st_size, fd))
            plan.snapshot_seq = seq
        plan.last_seq = plan.snapshot_seq
        limit = None if upto is None else max(upto, plan.snapshot_seq)
        newest = _add_segments(plan, directory, limit)
    except FileNotFoundError:
        plan.close()
        return None
    except BaseException:
        plan.close()
        raise
    if limit is not None and plan.last_seq < limit:
        plan.close()
        raise BackupFailed(
            f"{directory}: the journal ends at record {plan.last_seq}, before the durable "
            f"record {limit}"
        )
    manifest = read_manifest(directory)  # now: its bound on seqs covers every record copied
    assert manifest is not None
    text = replace(manifest, newest_segment=newest).as_json().encode()
    plan.files.append(SourceFile(paths.MANIFEST_FILE, len(text), data=text))
    return plan


def _open(path: Path) -> int:
    return os.open(path, os.O_RDONLY)


def _add_segments(plan: BackupPlan, directory: Path, limit: int | None) -> int | None:
    """Open the segments after the snapshot and cut each at its last record to copy;
    returns the first seq of the newest one (for the copy's manifest)."""
    segments = paths.journal_segments(directory)
    start = 0
    for i, (first_seq, _path) in enumerate(segments):
        if first_seq <= plan.snapshot_seq + 1:
            start = i
    if segments and segments[start][0] > plan.snapshot_seq + 1 and plan.files:
        snapshot = directory / plan.files[0].name
        if not snapshot.exists():  # newer snapshots pruned it and the segments it needs
            raise FileNotFoundError(snapshot)
    newest = None
    for first_seq, path in segments[start:]:
        if limit is not None and first_seq > limit:
            break
        fd = _open(path)
        plan.files.append(SourceFile(path.name, 0, fd))
        length, last = _segment_end(fd, path, limit)
        plan.files[-1].length = length
        plan.last_seq = max(plan.last_seq, last)
        newest = first_seq
    return newest


def _segment_end(fd: int, path: Path, limit: int | None) -> tuple[int, int]:
    """(bytes to copy, seq of the last record copied) of the segment open as `fd`."""
    size = os.fstat(fd).st_size
    if size < SEGMENT_HEADER_LEN:
        raise BackupFailed(f"{path} is shorter than a segment header; run `revkv check`")
    with mmap.mmap(fd, size, access=mmap.ACCESS_READ) as data:
        try:
            first_seq, _skipped = read_segment_start(data, path)
        except ValueError as exc:
            raise BackupFailed(f"{path}: {exc}; run `revkv check`") from None
        scan = SegmentScan(path, first_seq, first_seq - 1, SEGMENT_HEADER_LEN, size)
        end, last = SEGMENT_HEADER_LEN, first_seq - 1
        # data_end=0: what follows the last verifying record is not the backup's to judge
        frames = cast(Generator[Any, None, None], iter_frames(data, first_seq, scan, data_end=0))
        for seq, body in frames:
            length = len(body)
            body.release()  # a view into the map, which must have none left to close
            if limit is not None and seq > limit:
                break
            end += FRAME_HEADER_LEN + length + (-length % 8)
            last = seq
        frames.close()
    return end, last


# -- writing a directory ---------------------------------------------------------------


def check_destination(dest: Path) -> None:
    """A backup goes into a new or empty directory, never over another store."""
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupFailed(
            f"{dest} exists and is not an empty directory; a backup goes into a new one"
        )


def write_backup(
    plan: BackupPlan, dest: Path, advance: Callable[[int], None] = lambda n: None
) -> BackupResult:
    """Copy the plan's files into `dest` (new or empty), durably, then verify the copy."""
    started = time.perf_counter()
    with _cleaned_up_on_failure(dest):
        dest.mkdir(parents=True, exist_ok=True)
        for f in plan.files:
            with _durable_file(dest / f.name) as out:
                if f.fd < 0:
                    out.write(f.data)
                else:
                    _copy(f.fd, f.length, out, advance)
            advance(len(f.data))
        fsync_directory(dest)
        verify_copy(dest, plan.last_seq)
    return BackupResult(
        dest, plan.snapshot_seq, plan.last_seq, len(plan.files), plan.total_bytes,
        time.perf_counter() - started,
    )  # fmt: skip


def _copy(fd: int, length: int, out: Any, advance: Callable[[int], None]) -> None:
    offset = 0
    while offset < length:
        chunk = os.pread(fd, min(CHUNK, length - offset), offset)
        if not chunk:
            raise BackupFailed("a file of the store was cut short while it was being copied")
        out.write(chunk)
        offset += len(chunk)
        advance(len(chunk))


@contextlib.contextmanager
def _durable_file(path: Path) -> Iterator[Any]:
    """Write `path` as temp file, fsync, rename (the directory is fsynced at the end)."""
    tmp = path.with_name(path.name + paths.TMP_SUFFIX)
    with open(tmp, "wb") as out:
        yield out
        out.flush()
        os.fsync(out.fileno())
    os.rename(tmp, path)


@contextlib.contextmanager
def _cleaned_up_on_failure(dest: Path) -> Iterator[None]:
    """Remove what a failed backup wrote: the directory if it made it, else its files."""
    existed = dest.exists()
    try:
        yield
    except BaseException:
        if not existed:
            shutil.rmtree(dest, ignore_errors=True)
        elif dest.is_dir():
            for path in dest.iterdir():
                if NAMES.match(path.name.removesuffix(paths.TMP_SUFFIX)):
                    path.unlink(missing_ok=True)
        raise


def verify_copy(dest: Path, last_seq: int) -> None:
    """Read the copy back as start-up would: the snapshot verifies, the journal after it
    chains and verifies to `last_seq`, with nothing damaged or torn."""
    manifest = read_manifest(dest)
    snapshots = paths.snapshots(dest)
    after = 0
    try:
        if snapshots:
            after, _body = read_snapshot(snapshots[-1][1])
        reader = JournalReader(dest, after, manifest)
        for _record in reader.records():
            pass
    except PrevalenceError as exc:
        raise BackupFailed(f"the copy in {dest} does not verify: {exc}") from exc
    if reader.torn is not None or max(reader.last_seq, after) != last_seq:
        raise BackupFailed(f"the copy in {dest} ends at record {reader.last_seq}, not {last_seq}")


# -- a tar stream ----------------------------------------------------------------------


def tar_size(plan: BackupPlan) -> int:
    """The exact length of `tar_chunks(plan)` (a Content-Length)."""
    return sum(BLOCK + _padded(f.length) for f in plan.files) + 2 * BLOCK


def tar_chunks(plan: BackupPlan) -> Iterator[bytes]:
    """The plan's files as an uncompressed tar (ustar), read as it is sent; closes the
    plan's files at the end, or when the stream is abandoned."""
    try:
        now = int(time.time())
        for f in plan.files:
            info = tarfile.TarInfo(f.name)
            info.size, info.mtime, info.mode = f.length, now, 0o644
            yield info.tobuf(format=tarfile.USTAR_FORMAT)
            if f.fd < 0:
                yield f.data
            else:
                offset = 0
                while offset < f.length:
                    chunk = os.pread(f.fd, min(CHUNK, f.length - offset), offset)
                    if not chunk:
                        raise BackupFailed(f"{f.name} was cut short while it was being sent")
                    yield chunk
                    offset += len(chunk)
            yield bytes(_padded(f.length) - f.length)
        yield bytes(2 * BLOCK)
    finally:
        plan.close()


def _padded(length: int) -> int:
    return -(-length // BLOCK) * BLOCK


def extract_backup(
    chunks: Iterable[bytes], dest: Path, last_seq: int, advance: Callable[[int], None]
) -> BackupResult:
    """Write the files of a tar from `tar_chunks` into `dest` (new or empty), durably,
    then verify the copy ends at `last_seq`. Only a backup's file names are accepted."""
    started = time.perf_counter()
    stream = _ChunkReader(chunks, advance)
    files = total = 0
    snapshot_seq = 0
    with _cleaned_up_on_failure(dest):
        dest.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=cast(IO[bytes], stream), mode="r|") as archive:
            for member in archive:
                if not member.isfile() or not NAMES.match(member.name):
                    raise BackupFailed(f"the server sent {member.name!r}, not a backup's file")
                source = archive.extractfile(member)
                assert source is not None
                with _durable_file(dest / member.name) as out:
                    shutil.copyfileobj(source, out, CHUNK)
                files += 1
                total += member.size
                if member.name.startswith(paths.SNAPSHOT_PREFIX):
                    snapshot_seq = int(member.name[len(paths.SNAPSHOT_PREFIX) :][:20])
        fsync_directory(dest)
        verify_copy(dest, last_seq)
    return BackupResult(dest, snapshot_seq, last_seq, files, total, time.perf_counter() - started)


class _ChunkReader:
    """A file-like `read()` over an iterator of byte chunks (a streamed response)."""

    def __init__(self, chunks: Iterable[bytes], advance: Callable[[int], None]) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""
        self._advance = advance

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._advance(len(chunk))
            self._buffer += chunk
        if size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data
