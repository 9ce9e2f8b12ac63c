"""`revkv check` and `revkv repair` on a real damaged directory, through click's runner."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from revkv import _paths as paths
from revkv.cli import cli
from revkv.prevalence import open_system
from tests.domains import Counter
from tests.unit.test_recovery import FRAME_HEADER_LEN, flip, frame_offsets


def damaged(tmp_path: Path) -> Path:
    system = open_system(Counter, tmp_path)
    for i in range(10):
        system.set(str(i), i)
    system.close()
    segment = paths.journal_segments(tmp_path)[0][1]
    flip(segment, frame_offsets(segment)[4] + FRAME_HEADER_LEN)
    return segment


def test_check_and_repair(tmp_path: Path) -> None:
    runner = CliRunner()
    damaged(tmp_path)
    result = runner.invoke(cli, ["--data", str(tmp_path), "check"])
    assert result.exit_code == 4
    assert "damaged" in result.output and "revkv repair" in result.output
    result = runner.invoke(cli, ["--data", str(tmp_path), "repair", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["last_good_seq"] == 4
    assert report["cut_bytes"] > 0
    result = runner.invoke(cli, ["--data", str(tmp_path), "check"])
    assert result.exit_code == 0
    assert "verified up to record 10" in result.output  # revs go on after those set aside
    assert "records 5 to 10 were set aside by a repair" in result.output
    system = open_system(Counter, tmp_path)
    assert system.data == {str(i): i for i in range(4)}
    system.close()


def test_repair_refuses_a_directory_in_use(tmp_path: Path) -> None:
    system = open_system(Counter, tmp_path)
    result = CliRunner().invoke(cli, ["--data", str(tmp_path), "repair"])
    assert result.exit_code != 0
    system.close()


def test_a_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--data", str(tmp_path / "nope"), "check"])
    assert result.exit_code == 2
    assert "is not a directory" in result.output
