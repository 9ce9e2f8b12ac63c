"""`revkv.prevalence._backup` on real directories: where a copy ends when the journal's
tail is half-written, the tar stream's round trip, and what it refuses."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

import revkv
from revkv import _paths as paths
from revkv.prevalence._backup import (
    BackupFailed,
    check_destination,
    extract_backup,
    plan_backup,
    tar_chunks,
    tar_size,
    write_backup,
)
from revkv.prevalence._frames import encode_frame


def filled(data: Path, puts: int = 20) -> int:
    with revkv.open(data) as store:
        for i in range(puts):
            store.put("ns", f"k{i % 5}", f"value {i}")
        return store.rev


def test_a_copy_stops_at_the_last_whole_record(tmp_path: Path) -> None:
    """Bytes after the last record that verifies (a write in progress) are left out."""
    data = tmp_path / "data"
    rev = filled(data)
    segment = paths.journal_segments(data)[-1][1]
    with open(segment, "r+b") as f:  # half a record where the next one would go
        end = plan_backup(data).files[1].length
        frame = encode_frame(rev + 1, b"a record being written" * 10)
        f.seek(end)
        f.write(frame[: len(frame) // 2])
    with plan_backup(data) as plan:
        assert plan.last_seq == rev
        result = write_backup(plan, tmp_path / "copy")
    assert result.last_seq == rev
    with revkv.open(tmp_path / "copy") as copy:
        assert copy.rev == rev
        assert copy.get("ns", "k4").payload == b"value 19"


def test_a_copy_up_to_a_durable_rev_leaves_later_records_out(tmp_path: Path) -> None:
    data = tmp_path / "data"
    rev = filled(data)
    with plan_backup(data, upto=rev - 3) as plan:
        assert plan.last_seq == max(rev - 3, plan.snapshot_seq)
        write_backup(plan, tmp_path / "copy")
    with revkv.open(tmp_path / "copy") as copy:
        assert copy.rev == plan.last_seq


def test_the_tar_stream_round_trip(tmp_path: Path) -> None:
    data = tmp_path / "data"
    rev = filled(data)
    with revkv.open(data) as store:
        plan = store.backup_plan()
    size = tar_size(plan)
    stream = b"".join(tar_chunks(plan))
    assert len(stream) == size
    with tarfile.open(fileobj=io.BytesIO(stream)) as archive:
        assert archive.getnames()[-1] == paths.MANIFEST_FILE
    seen: list[int] = []
    result = extract_backup([stream[i : i + 7000] for i in range(0, size, 7000)],
                            tmp_path / "copy", rev, seen.append)  # fmt: skip
    assert sum(seen) == size
    assert (result.last_seq, result.files) == (rev, 3)
    with revkv.open(tmp_path / "copy") as copy:
        assert copy.rev == rev


def test_a_tar_with_another_file_is_refused_and_nothing_is_left(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("../escape")
        info.size = 4
        archive.addfile(info, io.BytesIO(b"evil"))
    with pytest.raises(BackupFailed, match="not a backup's file"):
        extract_backup([buffer.getvalue()], tmp_path / "copy", 1, lambda n: None)
    assert not (tmp_path / "copy").exists()
    assert not (tmp_path / "escape").exists()


def test_a_copy_that_ends_short_is_refused_and_removed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    filled(data)
    plan = plan_backup(data)
    plan.last_seq += 5  # the plan promises records the files do not hold
    with pytest.raises(BackupFailed, match="ends at record"):
        write_backup(plan, tmp_path / "copy")
    plan.close()
    assert not (tmp_path / "copy").exists()


def test_destinations(tmp_path: Path) -> None:
    check_destination(tmp_path / "new")
    (tmp_path / "empty").mkdir()
    check_destination(tmp_path / "empty")
    (tmp_path / "file").write_text("x")
    for bad in (tmp_path, tmp_path / "file"):
        with pytest.raises(BackupFailed, match="not an empty directory"):
            check_destination(bad)


def test_a_directory_without_a_store(tmp_path: Path) -> None:
    with pytest.raises(BackupFailed, match="no store to back up"):
        plan_backup(tmp_path)


def test_files_pruned_after_they_were_opened_are_still_copied(tmp_path: Path) -> None:
    data = tmp_path / "data"
    rev = filled(data)
    with plan_backup(data) as plan:
        for path in data.iterdir():  # what snapshots pruning could do meanwhile
            if path.name.startswith(("journal-", "snapshot-")):
                os.unlink(path)
        write_backup(plan, tmp_path / "copy")
    with revkv.open(tmp_path / "copy") as copy:
        assert copy.rev == rev
