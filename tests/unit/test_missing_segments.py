"""Lost journal segments are never silent, and start-up, check and repair tell one story.

- the newest segment gone (every segment left verifies): named by all three; repair
  accepts the loss and revs go on after every seq the lost records could have had;
- the first segment gone: only a backup mends it; repair refuses and sets nothing aside;
- what a repair sets aside comes back with the commands it prints.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from revkv import _paths as paths
from revkv.cli import cli
from revkv.errors import JournalCorrupted, JournalMissing
from revkv.prevalence import control, open_system
from revkv.prevalence._manifest import read_manifest
from revkv.prevalence._repair import check, describe, repair
from tests.domains import Counter
from tests.unit.test_recovery import FRAME_HEADER_LEN, flip, frame_offsets


def make(path: Path, n: int, **kw: object) -> None:
    system = open_system(Counter, path, segment_size=600, **kw)
    for i in range(n):
        system.set(f"k{i}", f"value-{i}")
    system.close()


def test_a_lost_newest_segment_is_named_by_startup_check_and_repair(tmp_path: Path) -> None:
    make(tmp_path, 60)
    segments = paths.journal_segments(tmp_path)
    assert len(segments) > 2
    first_lost, newest = segments[-1]
    newest.unlink()
    with pytest.raises(JournalMissing) as info:
        open_system(Counter, tmp_path)
    error = info.value
    assert error.path == newest
    assert f"from {first_lost} on were written" in str(error)
    assert "backup" in str(error) and f"revkv repair --data {tmp_path}" in str(error)

    report = check(tmp_path)
    assert report.damaged == newest and report.missing and report.message == str(error)
    result = CliRunner().invoke(cli, ["--data", str(tmp_path), "check"])
    assert result.exit_code == 4 and str(error) in result.output

    manifest = read_manifest(tmp_path)
    assert manifest is not None
    report = repair(tmp_path)
    assert report.last_good_seq == first_lost - 1
    assert report.highest_seq == manifest.reserved_through  # a bound on every lost seq
    assert check(tmp_path).damaged is None
    system = open_system(Counter, tmp_path)
    assert f"k{first_lost - 2}" in system.data and "k59" not in system.data
    system.set("after", 1)
    assert control(system).journal.last_seq == manifest.reserved_through + 1
    system.close()


def test_a_lost_first_segment_needs_a_backup_and_repair_sets_nothing_aside(
    tmp_path: Path,
) -> None:
    make(tmp_path, 60, keep_journal=True)
    segments = paths.journal_segments(tmp_path)
    segments[0][1].unlink()
    with pytest.raises(JournalCorrupted) as info:
        open_system(Counter, tmp_path)
    assert "restore" in str(info.value) and "records are missing" in str(info.value)
    report = check(tmp_path)
    assert report.message == str(info.value) and not report.repairable
    result = CliRunner().invoke(cli, ["--data", str(tmp_path), "check"])
    assert result.exit_code == 4 and str(info.value) in result.output
    assert "cannot mend" in result.output
    result = CliRunner().invoke(cli, ["--data", str(tmp_path), "repair"])
    assert result.exit_code == 4 and str(info.value) in result.output
    assert paths.journal_segments(tmp_path) == segments[1:]  # all intact, all still there
    assert not list(tmp_path.glob("*.broken"))


def test_the_undo_commands_of_a_repair_bring_back_what_it_set_aside(tmp_path: Path) -> None:
    make(tmp_path, 60, keep_journal=True)
    segments = paths.journal_segments(tmp_path)
    damaged = segments[-3][1]
    flip(damaged, frame_offsets(damaged)[1] + FRAME_HEADER_LEN + 1)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name != "LOCK"}
    diagnosis = check(tmp_path)
    result = CliRunner().invoke(cli, ["--data", str(tmp_path), "repair"])
    assert result.exit_code == 0, result.output
    report = repair_report = check(tmp_path)
    assert report.damaged is None and repair_report.skipped is not None
    for name in ("set aside", "revs go on at", "To undo", "dd if=", "mv "):
        assert name in result.output
    undo = result.output.split("To undo, before anything new is written: ")[1].strip()
    for command in undo.split("; "):
        subprocess.run(command, shell=True, check=True, capture_output=True)
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name in before}
    assert after == before  # byte for byte
    assert check(tmp_path).message == diagnosis.message


def test_a_damaged_segment_header_over_intact_records_is_written_again(tmp_path: Path) -> None:
    make(tmp_path, 60, keep_journal=True)
    segments = paths.journal_segments(tmp_path)
    flip(segments[2][1], 3)  # the magic of a segment in the middle; its records are fine
    with pytest.raises(JournalCorrupted, match="bad magic"):
        open_system(Counter, tmp_path)
    report = repair(tmp_path)
    assert report.damaged is None and report.changed  # nothing cut: the header was mended
    assert "every record kept" in describe(report)
    assert paths.journal_segments(tmp_path) == segments
    system = open_system(Counter, tmp_path)
    assert len(system.data) == 60
    system.close()
