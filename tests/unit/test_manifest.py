"""SYSTEM, the manifest: damage to it is found by check and start-up alike, never guessed
over by repair; failed snapshots leave no temp files behind."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from revkv import _paths as paths
from revkv.cli import cli
from revkv.errors import ManifestCorrupted
from revkv.prevalence import open_system
from revkv.prevalence._repair import check, repair
from tests.domains import Counter

ROOT = Path(__file__).resolve().parents[2]


def make(path: Path, n: int = 5) -> None:
    system = open_system(Counter, path)
    for i in range(n):
        system.set(f"k{i}", i)
    system.close()


@pytest.mark.parametrize(
    "damage",
    [b'{"format": 1, "codec": "pick', b"\xff\xfe", b"[]", b'{"format": 1, "class": "x:Y"}'],
    ids=["truncated", "not-utf8", "not-an-object", "no-codec"],
)
def test_a_damaged_manifest_is_named_by_check_startup_and_repair_alike(
    tmp_path: Path, damage: bytes
) -> None:
    make(tmp_path)
    manifest = tmp_path / paths.MANIFEST_FILE
    manifest.write_bytes(damage)
    with pytest.raises(ManifestCorrupted) as info:
        open_system(Counter, tmp_path)
    assert str(manifest) in str(info.value) and "backup" in str(info.value)
    report = check(tmp_path)
    assert report.damaged == manifest and not report.repairable
    assert report.message == str(info.value)
    result = CliRunner().invoke(cli, ["--data", str(tmp_path), "check"])
    assert result.exit_code == 4 and str(info.value) in result.output
    with pytest.raises(ManifestCorrupted):
        repair(tmp_path)
    assert manifest.read_bytes() == damage  # repair changed nothing
    assert not list(tmp_path.glob("*.broken"))


def test_a_snapshot_that_fails_to_write_leaves_no_temp_file(tmp_path: Path) -> None:
    """A real write failure: the file size limit (EFBIG), set in a child process."""
    make(tmp_path, 0)
    script = textwrap.dedent(
        f"""
        import resource, signal, sys
        from revkv.prevalence import control, open_system
        from tests.domains import Counter
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        system = open_system(Counter, {str(tmp_path)!r}, segment_size=1 << 20)
        for i in range(200):
            system.set(f"k{{i}}", f"{{i:04}}" * 250)
        resource.setrlimit(resource.RLIMIT_FSIZE, (50_000, 50_000))
        try:
            control(system).take_snapshot()
        except OSError as exc:
            print("failed:", exc.strerror)
        """
    )
    env = {"PYTHONPATH": f"{ROOT / 'src'}:{ROOT}", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(  # noqa: PLW1510 (the output is what is tested)
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert "failed: File too large" in done.stdout, done.stderr
    assert not list(tmp_path.glob("*" + paths.TMP_SUFFIX))


def test_a_missing_manifest_beside_a_journal_is_damage_not_a_new_directory(
    tmp_path: Path,
) -> None:
    make(tmp_path)
    (tmp_path / paths.MANIFEST_FILE).unlink()
    with pytest.raises(ManifestCorrupted, match="it is missing"):
        open_system(Counter, tmp_path)
    assert not check(tmp_path).repairable
    assert not (tmp_path / paths.MANIFEST_FILE).exists()  # nothing guessed
