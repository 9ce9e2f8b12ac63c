"""The README's examples run as written: the ten lines of Python and the shell tour."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.servers import ROOT, free_port

README = (ROOT / "README.md").read_text()


def block(after_heading: str, language: str) -> str:
    section = README.split(after_heading, 1)[1]
    match = re.search(rf"```{language}\n(.*?)```", section, re.S)
    assert match, f"no {language} block after {after_heading!r}"
    return match.group(1)


def test_the_ten_lines_of_python(tmp_path: Path) -> None:
    code = block("## Ten lines of Python", "python").replace("/tmp/revkv-readme", str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["b'postgres://b' 2", "b'postgres://a'", "['bob', 'ann']"]


def test_the_shell_tour(tmp_path: Path) -> None:
    port = str(free_port())
    script = (
        block("## A tour", "sh")
        .replace("source .venv/bin/activate", f"export PATH={Path(sys.executable).parent}:$PATH")
        .replace("/tmp/revkv-tour", str(tmp_path / "tour"))
        .replace("8099", port)
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "exit 3: someone committed after version 2" in out
    assert "\nhello\n" in out  # the revert brought version 1 back
    assert "b'{\"replicas\": 5}'" in out  # pyrainer's commit, read back
    assert "[('put', 'web'), ('put', 'web')]" in out
