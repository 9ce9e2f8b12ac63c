"""A prevalent system: one object in memory, every command journaled, restored on open.

Invariants:

- Commands run one at a time under a re-entrant lock, in seq order; each is journaled
  with the time it ran (`self._clock` returns it) and returns only once durable.
- The lock is held while a command runs and its record is appended, never during the
  fsync: writers queue behind the running command, not behind the disk, and share the
  next fsync (group commit, see journal.py).
- Only durable state is ever returned: a read-only call, like a command, returns only
  after every record it could have seen is durable.
- Open = newest verified snapshot + the journal after it. The journal knows records,
  this module knows commands; neither knows what the object means.
- Compaction (`compact`) leaves one snapshot and the journal after it: nothing older
  survives on disk. It is crash-safe step by step: the `COMPACT` marker is written
  first; the journal rolls to a new segment so that no segment straddles the snapshot;
  the snapshot is written atomically and read back; only then do older snapshots and
  segments go, oldest first; the marker goes last. Every intermediate state opens as
  an ordinary directory, and an open that finds the marker finishes the compaction.
"""

from __future__ import annotations

import copy
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from revkv import _paths as paths
from revkv._clock import CommandClock
from revkv.errors import PrevalenceError, ReadOnlySystem, ReplayDiverged, StorageError
from revkv.prevalence._codec import Codec, get_codec
from revkv.prevalence._decorators import MethodKind, method_kind
from revkv.prevalence._dirlock import DirectoryLock
from revkv.prevalence._journal import (
    DEFAULT_SEGMENT_SIZE,
    NO_SPACE,
    Durability,
    Journal,
    fsync_directory,
)
from revkv.prevalence._manifest import FORMAT, Manifest, read_manifest, write_manifest
from revkv.prevalence._memory import MemoryJournal
from revkv.prevalence._progress import replay_progress
from revkv.prevalence._reader import JournalReader
from revkv.prevalence._repair import cut_torn_tail
from revkv.prevalence._snapshot import (
    load_newest_snapshot,
    read_snapshot,
    write_snapshot_atomically,
)
from revkv.prevalence._snapshotter import Snapshotter
from revkv.prevalence._validation import validate_clock_use

if TYPE_CHECKING:
    from revkv.prevalence._replication import Feed

log = logging.getLogger(__name__)

OK, RAISED = b"\x00", b"\x01"


@dataclass(frozen=True)
class Settings:
    """How a system is kept; every field has the default most users want."""

    codec: str = "pickle"
    durability: Durability = "always"
    fsync_interval: float = 0.05
    snapshot_every: int | None = None  # commands between automatic snapshots
    snapshot_interval: float | None = None  # seconds between automatic snapshots
    keep_snapshots: int = 2  # the newest N; older journal segments go with the rest
    keep_journal: bool = False  # keep segments a snapshot covers (for audit or replicas)
    segment_size: int = DEFAULT_SEGMENT_SIZE
    validate_clock: bool = True
    replay_errors: Literal["raise", "log"] = "raise"
    progress: bool | None = None  # None: a progress bar when stderr is a terminal
    compact_on_snapshot: bool = False  # every snapshot compacts (see `System.compact`)


@dataclass(frozen=True)
class Compaction:
    """What a compaction did: the snapshot it wrote (None in memory), and the older
    snapshots and journal segments it removed."""

    snapshot: Path | None
    removed_files: int = 0
    removed_bytes: int = 0


class System:
    """The engine behind a proxy; `control(proxy)` returns it."""

    def __init__(self, obj: Any, directory: Path | None, settings: Settings) -> None:
        self.settings = settings
        self.cls: type = obj if isinstance(obj, type) else type(obj)
        self.directory = directory
        self.codec: Codec = get_codec(settings.codec)
        self.lock = threading.RLock()
        self.clock = CommandClock(time.time())
        self.read_only = False
        self.primary: str | None = None  # host:port of the primary a replica follows
        self.stats: dict[str, Any] = {}
        self._initial = obj
        self._local = threading.local()
        self._kinds: dict[str, MethodKind] = {}
        self._last_ts = 0.0
        self._listeners: list[Callable[[int], None]] = []
        self._failure_listeners: list[Callable[[BaseException], None]] = []
        self._closers: list[Callable[[], None]] = []
        self.feed: Feed | None = None  # set while replicas are served
        self._closed = False
        self._dirlock = DirectoryLock(directory) if directory is not None else None
        self._snapshot_mu = threading.Lock()
        self._last_snapshot_seq = -1
        self._snapshotter = Snapshotter(self, settings.snapshot_every, settings.snapshot_interval)
        if settings.validate_clock:
            validate_clock_use(self.cls)
        self.journal: Journal | MemoryJournal
        if directory is None:
            self.obj = self._fresh_object()
            self._inject_clock()
            self.journal = MemoryJournal(self._on_durable)
        else:
            self._open_directory(directory)
        self._snapshotter.start()

    # -- opening ------------------------------------------------------------------------

    def _open_directory(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        assert self._dirlock is not None
        self._dirlock.acquire()
        try:
            for tmp in directory.glob("*" + paths.TMP_SUFFIX):
                tmp.unlink()
            fresh = self._check_manifest(directory)
            reader = self._restore(directory)
            if reader.torn is not None:
                cut_torn_tail(reader.torn)
            tail = reader.tail if reader.last_seq >= reader.after_seq and reader.tail else None
            self.journal = Journal(
                directory,
                next_seq=reader.last_seq + 1,
                tail=tail,
                segment_size=self.settings.segment_size,
                durability=self.settings.durability,
                fsync_interval=self.settings.fsync_interval,
                on_durable=self._on_durable,
                on_failed=self._on_failed,
                on_extent=self._note_extent,
                reserved_through=self._manifest.reserved_through,
            )
            if fresh:
                self.take_snapshot()
            if (directory / paths.COMPACT_FILE).exists():
                log.warning("%s: finishing a compaction that was interrupted", directory)
                self.compact()
        except OSError as exc:
            self._dirlock.release()
            if exc.errno not in NO_SPACE:
                raise
            where = f" (writing {exc.filename})" if exc.filename else ""
            raise StorageError(
                f"{directory} cannot be opened: {exc.strerror}{where}; free some space on "
                "its disk and open it again (nothing was lost)"
            ) from None
        except BaseException:
            self._dirlock.release()
            raise

    def _check_manifest(self, directory: Path) -> bool:
        """Write the manifest of a new directory; refuse one kept with another codec."""
        name = f"{self.cls.__module__}:{self.cls.__qualname__}"
        manifest = read_manifest(directory)
        if manifest is None:
            fresh = not paths.snapshots(directory) and not paths.journal_segments(directory)
            self._manifest = Manifest(FORMAT, self.codec.name, name)
            write_manifest(directory, self._manifest)
            return fresh
        self._manifest = manifest
        if manifest.codec != self.codec.name:
            raise PrevalenceError(
                f"{directory} was written with codec {manifest.codec!r}; open it with "
                f"codec={manifest.codec!r} (you asked for {self.codec.name!r})"
            )
        if manifest.cls != name:
            log.warning("%s holds a %s system; opening it as %s", directory, manifest.cls, name)
        return False

    @property
    def cuts(self) -> tuple[tuple[int, int], ...]:
        """(last seq kept, last seq set aside) of every repair that set records aside."""
        manifest = getattr(self, "_manifest", None)
        return manifest.cuts if manifest is not None else ()

    def _note_extent(self, newest_segment: int, reserved_through: int) -> None:
        """Record where the journal ends in the manifest, so a lost newest segment shows."""
        assert self.directory is not None
        self._manifest = replace(
            self._manifest, newest_segment=newest_segment, reserved_through=reserved_through
        )
        write_manifest(self.directory, self._manifest)

    def _restore(self, directory: Path) -> JournalReader:
        started = time.perf_counter()
        found = load_newest_snapshot(directory)
        if found is None:
            after = 0
            self.obj = self._fresh_object()
        else:
            after, body = found
            self.obj = self.codec.decode_state(body, self.cls)
            self._last_snapshot_seq = after
        self._inject_clock()
        loaded = time.perf_counter()
        reader = JournalReader(directory, after, self._manifest)
        count = self._replay(reader)
        done = time.perf_counter()
        self.stats.update(
            snapshot_seq=after,
            snapshot_load_seconds=loaded - started,
            replayed_records=count,
            replay_seconds=done - loaded,
        )
        if count or found is None:
            rate = count / (done - loaded) if done > loaded else 0.0
            log.info(
                "opened %s: snapshot #%d loaded in %.3f s, %d records replayed in %.3f s "
                "(%.0f records/s)",
                directory,
                after,
                loaded - started,
                count,
                done - loaded,
                rate,
            )
        return reader

    def _fresh_object(self) -> Any:
        initial = self._initial
        return initial() if isinstance(initial, type) else initial

    def _inject_clock(self) -> None:
        """Give the object `self._clock`; objects that take no attributes go without."""
        try:
            object.__setattr__(self.obj, "_clock", self.clock)
        except (AttributeError, TypeError):
            log.debug("%s takes no _clock attribute (add '_clock' to its __slots__)", self.cls)

    def _replay(self, reader: JournalReader) -> int:
        decode = self.codec.decode_command
        clock = self.clock
        obj = self.obj
        methods: dict[str, Callable[..., Any]] = {}
        count = 0
        ts = self._last_ts
        with replay_progress(reader.total_bytes, self.settings.progress) as advance:
            for seq, body in reader.records():
                name, args, kwargs, ts = decode(body[1:])
                clock._ts = ts
                clock.seq = seq
                method = methods.get(name)
                if method is None:
                    method = methods[name] = getattr(obj, name)
                try:
                    method(*args, **kwargs)
                except Exception as exc:
                    if body[0] == 0:
                        self._diverged(seq, name, exc)
                count += 1
                if not count & 0x3FFF:
                    advance(count, reader)
        self._last_ts = max(self._last_ts, ts)
        return count

    def _diverged(self, seq: int, name: str, exc: Exception) -> None:
        error = ReplayDiverged(seq, name, exc)
        if self.settings.replay_errors == "raise":
            raise error from exc
        log.error("%s (continuing: replay_errors='log')", error)

    # -- commands -----------------------------------------------------------------------

    def in_command(self) -> bool:
        """Whether this thread is inside a command (a nested call is part of it)."""
        return getattr(self._local, "depth", 0) > 0

    def execute(
        self,
        name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        wait: bool = True,
        precheck: Callable[[float], object] | None = None,
    ) -> tuple[Any, int]:
        """Run `name` as a journaled command; (its result, its seq).

        `precheck(now)` runs first, under the lock, with the time the command will see;
        if it raises, nothing is journaled or changed. It must only read. With wait=False
        this returns before the record is durable: the caller must then
        `journal.sync(seq)` or await `journal.future(seq)` before showing the result.
        """
        kind = self.kind_of(name)
        if kind.unlocked:
            result, seq, error = self._run_command(name, kind, args, kwargs, precheck)
        else:
            with self.lock:
                result, seq, error = self._run_command(name, kind, args, kwargs, precheck)
        if wait:
            self.journal.sync(seq)
        if error is not None:
            raise error
        return result, seq

    def _run_command(
        self,
        name: str,
        kind: MethodKind,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        precheck: Callable[[float], object] | None = None,
    ) -> tuple[Any, int, BaseException | None]:
        if self._closed:
            raise PrevalenceError(f"{name}(): the system is closed; open it again to write")
        if self.read_only:
            raise ReadOnlySystem(
                f"{name}() changes state but this system is a read-only replica; "
                "send writes to the primary",
                self.primary,
            )
        # the wall clock may step back; command time never does
        ts = max(time.time(), self._last_ts)
        if precheck is not None:
            precheck(ts)
        self._last_ts = ts
        payload = self.codec.encode_command(name, args, kwargs, ts)
        backup = self._backup() if kind.abort_exception else None
        self.clock.set(ts)
        self.clock.seq = self.journal.last_seq + 1
        error: BaseException | None = None
        local = self._local
        local.depth = getattr(local, "depth", 0) + 1
        try:
            result = getattr(self.obj, name)(*args, **kwargs)
        except BaseException as exc:
            if kind.abort_exception:
                self._rollback(backup)
                raise
            result, error = None, exc
        finally:
            local.depth -= 1
        body = (RAISED if error else OK) + payload
        seq = self.journal.append(body)
        if self.feed is not None:
            self.feed.add(seq, body)
        self._snapshotter.command_done()
        return result, seq, error

    def _backup(self) -> Any:
        """In memory there is no journal to reload from: keep a copy to roll back to."""
        return copy.deepcopy(self.obj) if self.directory is None else None

    def _rollback(self, backup: Any) -> None:
        """Undo a failed abort_exception call: reload everything journaled before it."""
        started = time.perf_counter()
        if self.directory is None:
            self.obj = backup
        else:
            self.journal.flush()
            self._restore(self.directory)
        self._inject_clock()
        log.info("rolled back a failed call in %.3f s", time.perf_counter() - started)

    def query(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run a read-only method; it returns only once all it could see is durable."""
        kind = self.kind_of(name)
        if kind.unlocked:
            result = getattr(self.obj, name)(*args, **kwargs)
        else:
            with self.lock:
                self.clock.set(max(time.time(), self._last_ts))
                result = getattr(self.obj, name)(*args, **kwargs)
        self.barrier()
        return result

    def barrier(self) -> None:
        """Wait until everything appended so far is durable."""
        journal = self.journal
        if journal.durable_seq < journal.last_seq:
            journal.sync(journal.last_seq)

    def kind_of(self, name: str) -> MethodKind:
        kind = self._kinds.get(name)
        if kind is None:
            kind = self._kinds[name] = method_kind(getattr(self.cls, name, None))
        return kind

    # -- durability listeners --------------------------------------------------------

    def add_durable_listener(self, listener: Callable[[int], None]) -> None:
        """Call `listener(seq)` whenever records up to `seq` become durable."""
        self._listeners.append(listener)

    def _on_durable(self, seq: int) -> None:
        for listener in self._listeners:
            listener(seq)

    def add_failure_listener(self, listener: Callable[[BaseException], None]) -> None:
        """Call `listener(error)` if the journal fails (nothing after it becomes durable)."""
        self._failure_listeners.append(listener)

    def _on_failed(self, error: BaseException) -> None:
        for listener in self._failure_listeners:
            listener(error)

    # -- replication ------------------------------------------------------------------

    def attach_feed(self, feed: Feed) -> None:
        """Keep recent records in `feed` for replicas, and tell it what is durable."""
        with self.lock:
            self.feed = feed
            feed.durable_up_to(self.journal.durable_seq)
        self.add_durable_listener(feed.durable_up_to)

    def adopt(self, seq: int) -> None:
        """Make an in-memory system continue after `seq` (a replica's starting point)."""
        assert isinstance(self.journal, MemoryJournal)
        self._inject_clock()
        self.journal.adopt(seq)

    def apply_replicated(self, seq: int, body: bytes) -> None:
        """Apply one record streamed from a primary, as replay would."""
        name, args, kwargs, ts = self.codec.decode_command(body[1:])
        with self.lock:
            self.clock.set(ts)
            self.clock.seq = seq
            self._last_ts = ts
            try:
                getattr(self.obj, name)(*args, **kwargs)
            except Exception as exc:
                if body[0] == 0:
                    log.error("%s", ReplayDiverged(seq, name, exc))
            assert isinstance(self.journal, MemoryJournal)
            self.journal.adopt(seq)

    def on_close(self, closer: Callable[[], None]) -> None:
        self._closers.append(closer)

    # -- snapshots ------------------------------------------------------------------------

    def take_snapshot(self) -> Path | None:
        """Write a snapshot of the current state; None for an in-memory system.

        The lock is held only while the state is captured (serialised in memory, or
        copied if the object can encode later); the file is written, fsynced and
        renamed while writers go on.
        """
        if self.directory is None:
            return None
        if self.settings.compact_on_snapshot:
            return self.compact().snapshot
        with self._snapshot_mu:
            with self.lock:
                seq = self.journal.last_seq
                if seq == self._last_snapshot_seq:
                    return self.directory / paths.snapshot_name(seq)
                encode = self.codec.capture_state(self.obj)
            body = encode()
            self.journal.sync(seq)  # a snapshot must never be ahead of the journal
            path = write_snapshot_atomically(self.directory, seq, body)
            self._last_snapshot_seq = seq
            self._prune(seq)
        log.info("snapshot #%d written (%d bytes)", seq, len(body))
        return path

    def _prune(self, newest: int) -> None:
        assert self.directory is not None
        kept = paths.snapshots(self.directory)[-self.settings.keep_snapshots :]
        for seq, path in paths.snapshots(self.directory):
            if (seq, path) not in kept:
                path.unlink()
        if not self.settings.keep_journal and kept:
            oldest_kept = kept[0][0]
            segments = paths.journal_segments(self.directory)
            for (_first, path), (next_first, _next) in itertools.pairwise(segments):
                if next_first <= oldest_kept + 1:
                    path.unlink()
        fsync_directory(self.directory)

    def compact(self) -> Compaction:
        """Snapshot now, then remove every older snapshot and journal segment.

        Afterwards the directory holds one snapshot and the journal after it, so bytes
        that are no longer part of the state (a purged payload, versions retention
        dropped) are in no file. See the module docstring for why each step is safe.
        Writers wait only while the journal rolls and the state is captured.
        """
        directory = self.directory
        if directory is None:
            return Compaction(None)
        with self._snapshot_mu:
            self._write_marker(directory)
            with self.lock:
                seq = self.journal.last_seq
                encode = self.codec.capture_state(self.obj)
                self.journal.roll()  # every record up to seq is in older segments
            body = encode()
            path = write_snapshot_atomically(directory, seq, body)
            read_snapshot(path)  # it verifies before anything it replaces goes
            del body
            self._last_snapshot_seq = seq
            if self.feed is not None:
                self.feed.forget_through(seq)
            files, size = self._remove_before(directory, seq)
            (directory / paths.COMPACT_FILE).unlink()
            fsync_directory(directory)
        log.info("compacted: snapshot #%d, %d older files (%d bytes) removed", seq, files, size)
        return Compaction(path, files, size)

    def mark_compaction(self) -> None:
        """Promise a compaction (the `COMPACT` marker): if the process dies before
        `compact` ends, the next open runs it. Call it before a command whose effect
        must reach the disk (a purge), then `compact`."""
        if self.directory is not None:
            self._write_marker(self.directory)

    @staticmethod
    def _write_marker(directory: Path) -> None:
        marker = directory / paths.COMPACT_FILE
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_directory(directory)

    @staticmethod
    def _remove_before(directory: Path, seq: int) -> tuple[int, int]:
        """Remove snapshots older than `seq` and segments whose records all precede it."""
        doomed = [p for s, p in paths.snapshots(directory) if s < seq]
        doomed += [p for first, p in paths.journal_segments(directory) if first <= seq]
        size = 0
        for path in doomed:
            size += path.stat().st_size
            path.unlink()
        return len(doomed), size

    def start_snapshot_manager(self, seconds: float) -> None:
        """Take a snapshot every `seconds` from now on (coopy's name)."""
        self._snapshotter.set_interval(seconds)

    # -- closing ----------------------------------------------------------------------

    def close(self, snapshot: bool = False) -> None:
        """Flush the journal and let go of the directory; `snapshot=True` takes one first."""
        if self._closed:
            return
        self._snapshotter.stop()
        if snapshot:
            self.take_snapshot()
        with self.lock:
            self._closed = True
            self.journal.close()
        for closer in self._closers:
            closer()
        if self._dirlock is not None:
            self._dirlock.release()

    @property
    def closed(self) -> bool:
        return self._closed
