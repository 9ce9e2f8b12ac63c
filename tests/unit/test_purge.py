"""Purge and compaction in the embedded store, in process: what memory and files hold
afterwards, the COMPACT marker's promise, and the change log's bounds."""

from __future__ import annotations

from pathlib import Path

import revkv
from revkv._model import Commit
from revkv.store._changelog import ENTRY_BYTES, ChangeLog
from revkv.store._embedded import EmbeddedStore

MARKER = b"MARKER-0b5e-in-memory"


def reachable_commits(service: revkv.Service) -> list[Commit]:
    """Every commit the store's memory holds: histories, the change log, the feed."""
    store = service.backend
    assert isinstance(store, EmbeddedStore)
    state = store._state
    found = [c for ks in state.namespaces.values() for key in ks.keys for c in ks.history(key)]
    return found + list(state.log)


def files_with(directory: Path, needle: bytes) -> list[str]:
    return [p.name for p in directory.iterdir() if p.is_file() and needle in p.read_bytes()]


def test_a_purged_payload_leaves_memory_and_every_file(tmp_path: Path) -> None:
    with revkv.open(tmp_path, segment_size=4096) as service:  # several segments
        service.put("ns", "k", MARKER)
        for i in range(40):
            service.put("ns", f"filler{i}", b"x" * 200)
        service.snapshot()
        service.put("ns", "k", b"clean")
        assert files_with(tmp_path, MARKER)
        assert service.purge("ns", "k") == 1
        assert [c for c in reachable_commits(service) if MARKER in c.payload] == []
        assert files_with(tmp_path, MARKER) == []
        assert service.get("ns", "filler39").payload == b"x" * 200
    with revkv.open(tmp_path) as service:
        assert [c for c in reachable_commits(service) if MARKER in c.payload] == []
        assert [m.purged for m in service.history("ns", "k").items] == [False, True]


def test_an_interrupted_compaction_is_finished_at_open(tmp_path: Path) -> None:
    with revkv.open(tmp_path) as service:
        service.put("ns", "k", MARKER)
        service.snapshot()
        service.put("ns", "k", b"clean")
        store = service.backend
        assert isinstance(store, EmbeddedStore)
        store.system.mark_compaction()  # what a purge does first
        store._execute("purge", ("ns", "k", 2))  # ... then the crash, before compacting
    assert files_with(tmp_path, MARKER)
    with revkv.open(tmp_path) as service:
        assert not (tmp_path / "COMPACT").exists()
        assert files_with(tmp_path, MARKER) == []
        assert service.get("ns", "k").payload == b"clean"


def test_compact_on_snapshot_leaves_one_snapshot(tmp_path: Path) -> None:
    with revkv.open(tmp_path, compact_on_snapshot=True) as service:
        for i in range(3):
            service.put("ns", "k", str(i))
            service.snapshot()
        names = sorted(p.name for p in tmp_path.iterdir())
        assert len([n for n in names if n.startswith("snapshot-")]) == 1
        assert len([n for n in names if n.startswith("journal-")]) == 1
    with revkv.open(tmp_path) as service:
        assert [service.get("ns", "k", v).payload for v in (1, 2, 3)] == [b"0", b"1", b"2"]


def test_the_change_log_holds_the_stores_commits_not_copies(tmp_path: Path) -> None:
    with revkv.open(tmp_path) as service:
        service.put("ns", "k", b"payload")
        store = service.backend
        assert isinstance(store, EmbeddedStore)
        (logged,) = list(store._state.log)
        assert logged is store._state.namespaces["ns"].latest("k")


def commit(rev: int, size: int) -> Commit:
    return Commit("ns", f"k{rev}", 1, rev, 0.0, payload=b"x" * size)


def test_the_change_log_is_bounded_in_bytes() -> None:
    log = ChangeLog(capacity=1_000_000, max_bytes=10 * (ENTRY_BYTES + 100))
    for rev in range(1, 101):
        log.append(commit(rev, 100))
    assert log.size <= 10 * (ENTRY_BYTES + 100) * 5 // 4
    assert len(log) < 15
    assert log.is_compacted(log.compacted_through - 1)
    assert [c.rev for c in log][-1] == 100
    assert log.size == sum(ENTRY_BYTES + len(c.payload) for c in log)


def test_the_change_log_is_bounded_in_entries() -> None:
    log = ChangeLog(capacity=8)
    for rev in range(1, 101):
        log.append(commit(rev, 1))
    assert 8 <= len(log) <= 10
    assert log.since(0)[0].rev == log.compacted_through + 1


def test_a_watcher_older_than_the_change_log_is_told_to_resync(tmp_path: Path) -> None:
    with revkv.open(tmp_path, change_log_bytes=4 * (ENTRY_BYTES + 1000)) as service:
        for i in range(20):
            service.put("ns", "k", b"x" * 1000 + str(i).encode())
        try:
            service.changes(0)
        except revkv.Compacted:
            pass
        else:
            raise AssertionError("a resume from rev 0 should be Compacted")
        with service.watch(0, resync=True) as watch:
            event = watch.next(timeout=5)
        assert event is not None and event.type == "reset"
