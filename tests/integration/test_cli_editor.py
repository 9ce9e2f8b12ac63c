"""`revkv edit` in a real process with $EDITOR set to a script, as a user runs it.

The second test's editor commits to the same key through another `revkv set` process
while the edit is open, which `edit` must notice (exit 3) without losing the text.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import revkv

REVKV = [sys.executable, "-m", "revkv.cli"]


def revkv_process(
    data: Path, *args: str, editor: str | None = None, input: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "USER": "ann", "LOGNAME": "ann"}
    if editor is not None:
        env["EDITOR"] = editor
    return subprocess.run(
        [*REVKV, "--data", str(data), *args], env=env, input=input, capture_output=True,
        timeout=60, check=False,
    )  # fmt: skip


def editor_script(tmp_path: Path, body: str) -> str:
    """An $EDITOR command running a Python script on the file (sys.argv[1])."""
    script = tmp_path / "editor.py"
    script.write_text(
        "import subprocess, sys\nfrom pathlib import Path\npath = Path(sys.argv[1])\n" + body
    )
    return f'"{sys.executable}" "{script}"'


def test_edit_commits_what_the_editor_saved(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert revkv_process(data, "set", "motd", "-", input=b"Welcome!\nBe nice.\n").returncode == 0
    editor = editor_script(tmp_path, "path.write_text(path.read_text().upper())\n")
    done = revkv_process(data, "edit", "motd", "-m", "louder", editor=editor)
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"committed default/motd version 2 (rev 2)\n"
    with revkv.open(data) as store:
        commit = store.get("default", "motd")
    assert (commit.version, commit.payload) == (2, b"WELCOME!\nBE NICE.\n")
    assert (commit.author, commit.comment) == ("ann", "louder")


def test_edit_refuses_when_someone_committed_meanwhile(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert revkv_process(data, "set", "motd", "original").returncode == 0
    someone_else = [*REVKV, "--data", str(data), "set", "motd", "theirs", "--author", "bob"]
    editor = editor_script(
        tmp_path,
        f"subprocess.run({someone_else!r}, check=True, capture_output=True)\n"
        "path.write_text('mine')\n",
    )
    done = revkv_process(data, "edit", "motd", editor=editor)
    assert done.returncode == 3, done.stderr
    stderr = done.stderr.decode()
    assert "someone else committed meanwhile" in stderr
    kept = re.search(r"your edited text is kept in (\S+)", stderr)
    assert kept is not None, stderr
    assert Path(kept.group(1)).read_text() == "mine"
    Path(kept.group(1)).unlink()
    with revkv.open(data) as store:
        commit = store.get("default", "motd")
    assert (commit.version, commit.payload, commit.author) == (2, b"theirs", "bob")


def test_python_dash_m_revkv_cli_runs_the_command(tmp_path: Path) -> None:
    done = revkv_process(tmp_path, "--help")
    assert done.returncode == 0
    assert b"Exit codes:" in done.stdout
    missing = revkv_process(tmp_path / "data", "get", "nope")
    assert missing.returncode == 2  # no store there yet
    assert revkv_process(tmp_path / "data", "set", "k", "v").returncode == 0
    missing = revkv_process(tmp_path / "data", "get", "nope")
    assert (missing.returncode, missing.stdout) == (1, b"")
    assert missing.stderr.startswith(b"revkv: Key not found")
