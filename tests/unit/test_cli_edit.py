"""`revkv diff` and `revkv edit` (with real editor scripts) through click's runner."""

from __future__ import annotations

import json
import re
import sys
import tempfile
import time
from pathlib import Path

import pytest

from revkv.cli._edit import unified_diff
from tests.unit.test_cli_kv import ok, run


def editor(tmp_path: Path, body: str) -> dict[str, str]:
    """An $EDITOR: a Python script given the file's path as sys.argv[1]."""
    script = tmp_path / "editor.py"
    script.write_text(f"import sys\nfrom pathlib import Path\npath = Path(sys.argv[1])\n{body}\n")
    return {"EDITOR": f'"{sys.executable}" "{script}"'}


def test_diff_is_a_unified_diff_of_two_versions(tmp_path: Path) -> None:
    ok(tmp_path, "set", "k", "-", input="a\nb\nc\n")
    ok(tmp_path, "set", "k", "-", input="a\nB\nc\n")
    assert ok(tmp_path, "diff", "k", "1", "2").stdout == (
        "--- k@1\n+++ k@2\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"
    )
    assert ok(tmp_path, "diff", "k", "2", "2").stdout == ""


def test_diff_marks_a_missing_final_newline() -> None:
    lines = unified_diff("old", "new", "a", "b")
    assert lines[-2:] == ["-old\n\\ No newline at end of file\n",
                          "+new\n\\ No newline at end of file\n"]  # fmt: skip


def test_diff_of_binary_payloads_says_so(tmp_path: Path) -> None:
    ok(tmp_path, "set", "b", "-", input=b"\xff\x01")
    ok(tmp_path, "set", "b", "-", input=b"\xff\x02")
    assert ok(tmp_path, "diff", "b", "1", "2").stdout == "binary payloads of b@1 and b@2 differ\n"
    data = json.loads(ok(tmp_path, "diff", "b", "1", "2", "--json").stdout)
    assert data == {"namespace": "default", "key": "b", "from_version": 1, "to_version": 2,
                    "binary": True, "identical": False, "diff": None}  # fmt: skip


def test_diff_json_and_a_deleted_version_counts_as_empty(tmp_path: Path) -> None:
    ok(tmp_path, "set", "k", "-", input="x\n")
    ok(tmp_path, "delete", "k")
    data = json.loads(ok(tmp_path, "diff", "k", "1", "2", "--json").stdout)
    assert data["diff"] == "--- k@1\n+++ k@2\n@@ -1 +0,0 @@\n-x\n"
    assert (data["binary"], data["identical"]) == (False, False)
    assert run(tmp_path, "diff", "k", "1", "5").exit_code == 1


def test_edit_commits_the_edited_text_with_author_and_comment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    ok(tmp_path, "set", "k", "-", input="hello world\n")
    env = editor(tmp_path, "path.write_text(path.read_text().replace('world', 'there'))")
    result = run(tmp_path, "edit", "k", "-m", "friendlier", env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout == "committed default/k version 2 (rev 2)\n"
    assert ok(tmp_path, "get", "k").stdout == "hello there\n"
    meta = json.loads(ok(tmp_path, "meta", "k", "--json").stdout)
    assert (meta["author"], meta["comment"]) == ("ann", "friendlier")
    assert not list(scratch.iterdir())  # the temporary file is gone


def test_edit_without_a_change_commits_nothing(tmp_path: Path) -> None:
    ok(tmp_path, "set", "k", "same")
    result = run(tmp_path, "edit", "k", env=editor(tmp_path, "path.write_text(path.read_text())"))
    assert result.exit_code == 0
    assert "no change" in result.stdout
    assert json.loads(ok(tmp_path, "meta", "k", "--json").stdout)["version"] == 1


def test_edit_of_a_missing_key_starts_empty_at_version_1(tmp_path: Path) -> None:
    env = editor(tmp_path, "assert path.read_bytes() == b''\npath.write_text('new\\n')")
    result = run(tmp_path / "store", "edit", "-n", "notes", "fresh", "--json", env=env)
    data = json.loads(result.stdout)
    assert (data["namespace"], data["version"]) == ("notes", 1)
    assert ok(tmp_path / "store", "get", "-n", "notes", "fresh").stdout == "new\n"


def test_edit_of_a_deleted_key_continues_after_its_tombstone(tmp_path: Path) -> None:
    ok(tmp_path, "set", "k", "old")
    ok(tmp_path, "delete", "k")
    env = editor(tmp_path, "assert path.read_bytes() == b''\npath.write_text('back')")
    data = json.loads(run(tmp_path, "edit", "k", "--json", env=env).stdout)
    assert data["version"] == 3


def test_edit_refuses_binary_payloads(tmp_path: Path) -> None:
    ok(tmp_path, "set", "b", "-", input=b"\xff\xfe")
    result = run(tmp_path, "edit", "b", env=editor(tmp_path, "raise SystemExit('not run')"))
    assert result.exit_code == 2
    assert "binary" in result.stderr


def test_edit_keeps_the_text_when_the_store_refuses_it(tmp_path: Path) -> None:
    ok(tmp_path, "ns", "create", "objects", "--json-objects-only")
    ok(tmp_path, "set", "-n", "objects", "o", "{}")
    result = run(tmp_path, "edit", "-n", "objects", "o",
                 env=editor(tmp_path, "path.write_text('[1, 2]')"))  # fmt: skip
    assert result.exit_code == 2
    kept = re.search(r"your edited text is kept in (\S+)", result.stderr)
    assert kept is not None, result.stderr
    assert Path(kept.group(1)).read_text() == "[1, 2]"
    Path(kept.group(1)).unlink()


def test_a_failing_editor_exits_4_and_commits_nothing(tmp_path: Path) -> None:
    ok(tmp_path, "set", "k", "v")
    result = run(tmp_path, "edit", "k", env=editor(tmp_path, "raise SystemExit(3)"))
    assert result.exit_code == 4
    kept = re.search(r"the text is in (\S+)", result.stderr)
    assert kept is not None, result.stderr
    Path(kept.group(1)).unlink()
    assert json.loads(ok(tmp_path, "meta", "k", "--json").stdout)["version"] == 1


def test_edit_of_an_expired_key_continues_after_its_expiry(tmp_path: Path) -> None:
    ok(tmp_path, "set", "k", "old", "--ttl", "0.01")
    time.sleep(0.05)
    env = editor(tmp_path, "assert path.read_bytes() == b''\npath.write_text('fresh')")
    data = json.loads(run(tmp_path, "edit", "k", "--json", env=env).stdout)
    assert data["version"] == 3  # 1, the expiry's tombstone, this edit
    assert ok(tmp_path, "get", "k").stdout == "fresh"
