"""The journal writer: seqs, durability, group commit, rotation, poisoning."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from revkv import _paths as paths
from revkv.errors import JournalFailed
from revkv.prevalence._journal import Journal
from revkv.prevalence._reader import JournalReader


def read_all(directory: Path) -> list[tuple[int, bytes]]:
    reader = JournalReader(directory, 0)
    return [(seq, bytes(body)) for seq, body in reader.records()]


def test_append_and_sync_make_records_readable(tmp_path: Path) -> None:
    journal = Journal(tmp_path, next_seq=1)
    seqs = [journal.append(f"r{i}".encode()) for i in range(5)]
    assert seqs == [1, 2, 3, 4, 5]
    assert journal.durable_seq == 0
    journal.sync(5)
    assert journal.durable_seq == 5
    journal.close()
    assert read_all(tmp_path) == [(i + 1, f"r{i}".encode()) for i in range(5)]


def test_on_durable_runs_before_waiters_are_released(tmp_path: Path) -> None:
    published: list[int] = []
    journal = Journal(tmp_path, next_seq=1, on_durable=published.append)
    seq = journal.append(b"x")
    journal.sync(seq)
    assert published == [1]
    journal.close()


def test_group_commit_shares_fsyncs_between_threads(tmp_path: Path) -> None:
    journal = Journal(tmp_path, next_seq=1)
    lock = threading.Lock()  # the system lock: append order = seq order

    def writer(n: int) -> None:
        for i in range(50):
            with lock:
                seq = journal.append(f"{n}-{i}".encode())
            journal.sync(seq)
            assert journal.durable_seq >= seq

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert journal.stats.records == 800
    assert journal.stats.fsyncs < 800  # some fsyncs carried several records
    journal.close()
    records = read_all(tmp_path)
    assert [seq for seq, _ in records] == list(range(1, 801))


def test_futures_resolve_without_a_synchronous_caller(tmp_path: Path) -> None:
    journal = Journal(tmp_path, next_seq=1)
    futures = [journal.future(journal.append(b"x")) for _ in range(10)]
    for fut in futures:
        fut.result(timeout=10)
    assert journal.durable_seq == 10
    journal.close()


def test_segments_rotate_by_size_and_chain(tmp_path: Path) -> None:
    journal = Journal(tmp_path, next_seq=1, segment_size=1024)
    for i in range(100):
        journal.sync(journal.append(b"y" * 40 + str(i).encode()))
    journal.close()
    segments = paths.journal_segments(tmp_path)
    assert len(segments) > 3
    assert segments[0][0] == 1
    assert [seq for seq, _ in read_all(tmp_path)] == list(range(1, 101))


def test_interval_and_never_policies_write_without_waiting_for_fsync(tmp_path: Path) -> None:
    for policy in ("interval", "never"):
        directory = tmp_path / policy
        directory.mkdir()
        journal = Journal(directory, next_seq=1, durability=policy, fsync_interval=0.01)
        for _ in range(20):
            journal.sync(journal.append(b"z"))
        assert journal.stats.fsyncs < 20
        journal.close()
        assert len(read_all(directory)) == 20


def test_a_failed_write_poisons_the_journal(tmp_path: Path) -> None:
    journal = Journal(tmp_path, next_seq=1)
    journal.sync(journal.append(b"ok"))
    os.close(journal._fd)  # the next write fails with EBADF, as a dying disk would
    seq = journal.append(b"lost")
    with pytest.raises(JournalFailed, match="refuses writes until it is reopened"):
        journal.sync(seq)
    with pytest.raises(JournalFailed):
        journal.append(b"more")
    journal._fd = -1


def test_unknown_durability_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="durability must be one of"):
        Journal(tmp_path, next_seq=1, durability="sometimes")  # type: ignore[arg-type]
