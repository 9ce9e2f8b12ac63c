"""The journal: appends records to segment files and makes them durable, many at a time.

Group commit without a writer thread. A caller appends its record to the open batch and
then waits for durability. If no flush is running, the caller itself becomes the leader:
it takes the open batch, writes it with one `write()` and makes it durable with one
`fdatasync()`. Callers that arrive meanwhile gather in the next open batch, each asleep
on a lock of its own; when the flush ends, its leader releases those of its own batch
and hands the lead to exactly one sleeper of the next batch. So one thread pays one fsync per
call, sixteen threads share each fsync, and no thread is woken for nothing (with
CPython's GIL every needless wake-up costs the others). A background thread leads for
callers that wait on a future (the async server) and runs the `interval` policy's fsync.

Durability policies: `always` (default; a record is durable after fsync), `interval`
(durable after write; fsync at most every `fsync_interval` seconds) and `never` (tests).

`on_durable(seq)` runs, in seq order, after records up to `seq` are durable and before
any caller waiting on them is released, so whatever it publishes is visible to a caller
the moment its call returns.

A failed fsync, or a write that failed for any reason but a full disk, poisons the
journal (Postgres learned that a failed fsync cannot be retried): every waiter and every
later append raises `JournalFailed`. A write refused for want of space (ENOSPC, EDQUOT)
wrote nothing that was made durable, so it is retried, the same bytes at the same
offset, once a second until space is back; meanwhile `stalled` says why (for /health),
writers wait, and nothing is lost or told it failed. Closing the journal while stalled
gives up: the waiting writers get `JournalFailed`.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Literal

from revkv import _paths as paths
from revkv.errors import JournalFailed
from revkv.prevalence._frames import (
    MAX_BODY,
    SEGMENT_HEADER_LEN,
    SYNCED,
    encode_frame,
    encode_segment_header,
)
from revkv.prevalence._latency import LatencyHistogram

log = logging.getLogger(__name__)

Durability = Literal["always", "interval", "never"]
DURABILITIES: tuple[Durability, ...] = ("always", "interval", "never")
DEFAULT_SEGMENT_SIZE = 64 * 1024 * 1024
RESERVE = 1 << 20  # seqs reserved in the manifest at a time (see manifest.py)
NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
RETRY_SECONDS = (0.05, 0.1, 0.2, 0.5, 1.0)  # between attempts to write to a full disk


def _preallocate(fd: int, size: int) -> None:
    """Reserve a segment's blocks up front; where the filesystem cannot, appends still work."""
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as exc:
        log.debug("preallocation not supported here (%s); segments grow as written", exc)


def fsync_directory(directory: Path) -> None:
    """Make a file's creation, rename or removal in `directory` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def create_segment(directory: Path, first_seq: int, size: int, skipped: int = 0) -> Path:
    """Create a preallocated segment atomically: temp file, fsync, rename, fsync dir.

    `skipped` > 0 makes it a segment that follows a repair's cut (see frames.py).
    """
    final = directory / paths.journal_name(first_seq)
    tmp = final.with_name(final.name + paths.TMP_SUFFIX)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, encode_segment_header(first_seq, skipped))
        _preallocate(fd, size)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.rename(tmp, final)
    fsync_directory(directory)
    return final


class JournalStats:
    """Counters for /metrics and benchmarks; updated by the leader only."""

    __slots__ = (
        "batches", "bytes_written", "fsync_latency", "fsync_seconds", "fsyncs", "records",
        "segments",
    )  # fmt: skip

    def __init__(self) -> None:
        self.records = 0
        self.batches = 0
        self.bytes_written = 0
        self.fsyncs = 0
        self.fsync_seconds = 0.0
        self.segments = 0
        self.fsync_latency = LatencyHistogram()

    def as_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in self.__slots__ if name != "fsync_latency"}


class _Batch:
    """Records appended while another batch was being written; flushed together.

    Frames are encoded by the leader, outside every lock, not by the appender.
    """

    __slots__ = ("bodies", "first", "last", "waiters")

    def __init__(self, first: int) -> None:
        self.first = first
        self.last = first
        self.bodies: list[bytes] = []
        self.waiters: list[threading.Lock] = []  # a held lock per sleeper; released to wake it


class Journal:
    """Appends records after `next_seq - 1`; see the module docstring for the protocol."""

    def __init__(
        self,
        directory: Path,
        *,
        next_seq: int,
        tail: tuple[Path, int] | None = None,
        segment_size: int = DEFAULT_SEGMENT_SIZE,
        durability: Durability = "always",
        fsync_interval: float = 0.05,
        on_durable: Callable[[int], None] | None = None,
        on_failed: Callable[[JournalFailed], None] | None = None,
        on_extent: Callable[[int, int], None] | None = None,
        reserved_through: int = 0,
    ) -> None:
        if durability not in DURABILITIES:
            raise ValueError(f"durability must be one of {', '.join(DURABILITIES)}")
        self.directory = directory
        self.durability = durability
        self.segment_size = segment_size
        self.fsync_interval = fsync_interval
        self.stats = JournalStats()
        self._on_durable = on_durable
        self._on_failed = on_failed
        self._on_extent = on_extent
        self._reserved = reserved_through
        self._segment_first = next_seq
        self._mu = threading.Lock()
        self._wake = threading.Condition(self._mu)  # the background thread, apart
        self._idle = threading.Condition(self._mu)  # whoever waits for a flush to end
        self._open: _Batch | None = None  # gathering records, not yet being written
        self._inflight: _Batch | None = None  # being written by the leader
        self._next_seq = next_seq
        self._durable_seq = next_seq - 1
        self._failed: JournalFailed | None = None
        self._stalled: OSError | None = None
        self._closing = False
        self._closed = False
        self._futures: list[tuple[int, Future[None]]] = []
        self._wanted = 0  # the highest seq someone asked to be flushed without waiting
        self._unsynced = False  # `interval`: written but not yet fsynced
        self._syncing = False  # `interval`: the background fsync is running
        self._fd = -1
        self._offset = 0
        self._open_tail(tail)
        try:
            self._reserve(next_seq - 1)
        except BaseException:
            os.close(self._fd)
            raise
        self._thread = threading.Thread(target=self._background, name="revkv-journal", daemon=True)
        self._thread.start()

    # -- segment files ---------------------------------------------------------------

    def _open_tail(self, tail: tuple[Path, int] | None) -> None:
        if tail is None:
            self._start_segment(self._next_seq)
            return
        path, good_end = tail
        self._fd = os.open(path, os.O_WRONLY)
        self._offset = good_end
        self._segment_first = paths.journal_seq(path)

    def _reserve(self, seq: int) -> None:
        """Record (in the manifest) the newest segment and a bound past `seq` on all seqs."""
        self._reserved = max(self._reserved, seq + RESERVE)
        if self._on_extent is not None:
            self._on_extent(self._segment_first, self._reserved)

    def _start_segment(self, first_seq: int) -> None:
        final = create_segment(self.directory, first_seq, self.segment_size)
        self._segment_first = first_seq
        if self._fd >= 0:  # (at open, __init__ records it)
            self._reserve(first_seq)  # before the segment takes its first record
            os.close(self._fd)
        self._fd = os.open(final, os.O_WRONLY)
        self._offset = SEGMENT_HEADER_LEN
        self.stats.segments += 1

    # -- the protocol ----------------------------------------------------------------

    @property
    def durable_seq(self) -> int:
        return self._durable_seq

    @property
    def failed(self) -> JournalFailed | None:
        """Why the journal refuses writes, once a write or fsync has failed."""
        return self._failed

    @property
    def stalled(self) -> OSError | None:
        """Why writes wait, while the disk is full and the journal retries."""
        return self._stalled

    @property
    def last_seq(self) -> int:
        """The seq of the newest record appended (durable or not)."""
        return self._next_seq - 1

    def append(self, body: bytes) -> int:
        """Queue one record; returns its seq. Not durable until `sync(seq)` returns."""
        if len(body) > MAX_BODY:
            raise JournalFailed(f"a record of {len(body)} bytes exceeds the limit of {MAX_BODY}")
        with self._mu:
            self._check_usable()
            seq = self._next_seq
            self._next_seq = seq + 1
            batch = self._open
            if batch is None:
                batch = self._open = _Batch(seq)
            batch.bodies.append(body)
            batch.last = seq
        return seq

    def sync(self, seq: int) -> None:
        """Block until record `seq` is durable, leading a flush when nobody else is.

        A caller that cannot lead sleeps on a lock of its own in its batch's list: the
        leader releases it directly, so waking takes no turn at the journal's mutex.
        """
        while self._durable_seq < seq:
            with self._mu:
                if self._durable_seq >= seq:
                    return
                if self._failed is not None:
                    raise self._failed
                if self._inflight is None and not self._syncing:
                    self._lead()
                    continue
                batch = self._open if self._open is not None and seq >= self._open.first else None
                batch = batch or self._inflight
                if batch is None:  # only the interval fsync is running: wait for it
                    self._idle.wait()
                    continue
                waiter = threading.Lock()
                waiter.acquire()
                batch.waiters.append(waiter)
            waiter.acquire()  # released when the batch is durable, or to lead the next

    def future(self, seq: int) -> Future[None]:
        """A future resolved once `seq` is durable (for callers that must not block)."""
        fut: Future[None] = Future()
        with self._mu:
            if self._failed is not None:
                fut.set_exception(self._failed)
            elif self._durable_seq >= seq:
                fut.set_result(None)
            else:
                self._futures.append((seq, fut))
                self._wake.notify()
        return fut

    def flush_soon(self, seq: int) -> None:
        """Have the background thread make `seq` durable; returns at once.

        For callers that learn of durability another way (an `on_durable` listener), so
        no Future is made per record.
        """
        if self._durable_seq >= seq:
            return
        with self._mu:
            if seq > self._wanted:
                self._wanted = seq
                self._wake.notify()

    def flush(self) -> None:
        """Make everything appended so far durable."""
        self.sync(self.last_seq)

    def roll(self) -> int:
        """Make everything durable, then start a new segment at the next seq; returns it.

        What compaction needs: once a snapshot covers every record before that seq,
        every older segment can go. The caller keeps appends off meanwhile (it holds
        the system lock). An empty newest segment is kept as it is.
        """
        self.flush()
        with self._mu:
            while self._inflight is not None or self._syncing:
                self._idle.wait()
            self._check_usable()
            assert self._open is None, "roll() while records are being appended"
            if self._offset > SEGMENT_HEADER_LEN or self._segment_first != self._next_seq:
                self._fsync()
                self._start_segment(self._next_seq)
            return self._next_seq

    def _check_usable(self) -> None:
        if self._failed is not None:
            raise self._failed
        if self._closed:
            raise JournalFailed("the journal is closed; reopen the system to write again")

    def _lead(self) -> None:
        """Flush the open batch as leader. Called and returns with `_mu` held."""
        batch = self._open
        assert batch is not None, "a record that is not durable is in a batch"
        self._open, self._inflight = None, batch
        self._mu.release()
        try:
            try:
                self._write_retrying(batch)
                if self.durability == "always":
                    self._fsync()
                else:
                    self._unsynced = True
            except BaseException as exc:
                self._poison(exc)
            else:
                self._publish(batch.last)
        finally:
            self._mu.acquire()
        self._inflight = None
        if self._failed is None:
            self._durable_seq = batch.last
            self._resolve_futures()
        else:
            self._fail_futures()
            self._wake_next_batch()
        for waiter in batch.waiters:
            waiter.release()
        batch.waiters.clear()
        self._hand_over()

    def _wake_next_batch(self) -> None:
        """After a failure nobody leads the next batch: wake all its writers to raise."""
        if self._open is not None:
            for waiter in self._open.waiters:
                waiter.release()
            self._open.waiters.clear()

    def _write_retrying(self, batch: _Batch) -> None:
        """Write the batch, waiting out a full disk (see the module docstring)."""
        attempt = 0
        while True:
            try:
                self._write_batch(batch.bodies, batch.first)
            except OSError as exc:
                if exc.errno not in NO_SPACE or self._closing:
                    raise
                if self._stalled is None:
                    log.error(
                        "journal write refused (%s); writes wait and are retried until "
                        "space is freed in %s",
                        exc.strerror,
                        self.directory,
                    )
                self._stalled = exc
                time.sleep(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)])
                attempt += 1
                continue
            if self._stalled is not None:
                log.warning("journal writes go on: space was freed in %s", self.directory)
                self._stalled = None
            return

    def _hand_over(self) -> None:
        """Wake one waiter of the next batch to lead it, and the background thread if needed."""
        if self._open is not None and self._open.waiters:
            self._open.waiters.pop(0).release()
        if self._futures or self._wanted > self._durable_seq or self._failed is not None:
            self._wake.notify()
        self._idle.notify_all()

    def _publish(self, last: int) -> None:
        if self._on_durable is None:
            return
        try:
            self._on_durable(last)
        except Exception:  # the records are durable; a listener's bug must not undo that
            log.exception("on_durable listener failed for seq %d", last)

    def _write_batch(self, bodies: list[bytes], first_seq: int) -> None:
        """Encode and write frames; a method of its own so crash tests can cut before fsync."""
        if self._offset >= self.segment_size:
            self._fsync()
            self._start_segment(first_seq)
        if first_seq + len(bodies) > self._reserved:
            self._reserve(first_seq + len(bodies))
        flags = 0 if self._unsynced else SYNCED
        frames = [encode_frame(first_seq, bodies[0], flags)]
        frames.extend(encode_frame(first_seq + i, b) for i, b in enumerate(bodies[1:], 1))
        data = b"".join(frames)
        view = memoryview(data)
        offset = self._offset
        while view:
            written = os.pwrite(self._fd, view, offset)
            view = view[written:]
            offset += written
        self._offset = offset
        self.stats.records += len(bodies)
        self.stats.batches += 1
        self.stats.bytes_written += len(data)

    def _fsync(self) -> None:
        started = time.perf_counter()
        os.fdatasync(self._fd)
        self._unsynced = False
        elapsed = time.perf_counter() - started
        self.stats.fsync_seconds += elapsed
        self.stats.fsyncs += 1
        self.stats.fsync_latency.observe(elapsed)

    def _poison(self, exc: BaseException) -> None:
        log.error("journal write failed, refusing further writes: %s", exc)
        with self._mu:
            self._failed = failed = JournalFailed(
                f"writing the journal in {self.directory} failed ({exc}); records after "
                f"#{self._durable_seq} may not be on disk. The system refuses writes until it "
                "is reopened, which replays only what is durable"
            )
        if self._on_failed is not None:
            self._on_failed(failed)

    def _resolve_futures(self) -> None:
        if not self._futures:
            return
        durable = self._durable_seq
        waiting = []
        for seq, fut in self._futures:
            if seq <= durable:
                fut.set_result(None)
            else:
                waiting.append((seq, fut))
        self._futures = waiting

    def _fail_futures(self) -> None:
        for _seq, fut in self._futures:
            assert self._failed is not None
            fut.set_exception(self._failed)
        self._futures = []

    # -- background: futures and the `interval` fsync ----------------------------------

    def _background(self) -> None:
        interval = self.fsync_interval if self.durability == "interval" else None
        with self._mu:
            while not self._closed and self._failed is None:
                idle = self._inflight is None and not self._syncing
                wanted = self._futures or self._wanted > self._durable_seq
                if wanted and idle and self._open is not None:
                    self._lead()
                    continue
                self._wake.wait(timeout=interval)
                idle = self._inflight is None and not self._syncing
                if interval is not None and self._unsynced and idle:
                    self._interval_fsync()

    def _interval_fsync(self) -> None:
        self._syncing = True
        self._unsynced = False
        self._mu.release()
        try:
            self._fsync()
        except OSError as exc:
            self._poison(exc)
        finally:
            self._mu.acquire()
            self._syncing = False
            self._hand_over()

    def close(self) -> None:
        """Flush, fsync whatever the policy left unsynced, and close the segment."""
        if self._closed:
            return
        self._closing = True  # a write waiting for space gives up
        if self._failed is None:
            try:
                self.flush()
            except JournalFailed:
                log.error("closing the journal with records that were never made durable")
        with self._mu:
            while self._inflight is not None or self._syncing:
                self._idle.wait()
            self._closed = True
            self._wake.notify()
        self._thread.join()
        if self._fd >= 0:
            if self._failed is None:
                os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1
