"""Every example in docs/cli.md really runs and prints what the page shows.

The page's ```console blocks are one shell session: each `$ ` line runs (bash, in an
empty directory, as the user `ann`, stderr merged into stdout) and its output must equal
the lines under it, times aside. The `--url` examples talk to a real `revkv serve
--memory`, started here on a free port and written in place of the page's
`http://127.0.0.1:8080`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.servers import RevkvServer

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
TIMES = [
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3,}Z"), "<time>"),
]
DOCS_URL = "http://127.0.0.1:8080"  # where the page's --url examples find a server


def session(text: str) -> list[tuple[str, list[str]]]:
    """(command, expected output lines) for each `$ ` line of the console blocks."""
    steps: list[tuple[str, list[str]]] = []
    inside = False
    for line in text.splitlines():
        if line.startswith("```"):
            inside = line.startswith("```console")
        elif inside and line.startswith("$ "):
            steps.append((line[2:], []))
        elif inside:
            steps[-1][1].append(line)
    return steps


def without_times(lines: list[str]) -> list[str]:
    for pattern, placeholder in TIMES:
        lines = [pattern.sub(placeholder, line) for line in lines]
    return lines


def test_every_example_in_the_cli_docs_runs_as_shown(tmp_path: Path) -> None:
    steps = session(DOCS.read_text())
    assert len(steps) > 30
    bin_dir = Path(sys.executable).parent
    assert (bin_dir / "revkv").exists(), "the revkv console script is not installed"
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVKV_")}
    env.update(USER="ann", LOGNAME="ann", PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}")
    env.pop("EDITOR", None)
    with RevkvServer(None) as server:
        for command, expected in (at(server.url, *step) for step in steps):
            done = subprocess.run(
                ["bash", "-c", f"{{ {command} ; }} 2>&1"], cwd=tmp_path, env=env,
                capture_output=True, text=True, timeout=60, check=False,
            )  # fmt: skip
            printed = done.stdout.splitlines()
            assert without_times(printed) == without_times(expected), f"$ {command}"


def at(url: str, command: str, expected: list[str]) -> tuple[str, list[str]]:
    """The step with the page's server address replaced by the real one."""
    return command.replace(DOCS_URL, url), [line.replace(DOCS_URL, url) for line in expected]
