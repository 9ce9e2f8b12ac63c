"""Every command in docs/operations.md runs and prints what the page shows.

The page's ```console blocks are one shell session, run as docs/cli.md's are (bash, in an
empty directory, as the user `ann`, stderr merged into stdout): each `$ ` line's output
must equal the lines under it, times aside. The damage the page does to a data directory is real.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.integration.test_cli_docs import session, without_times

DOCS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def test_every_command_in_the_operations_page_runs_as_shown(tmp_path: Path) -> None:
    steps = session(DOCS.read_text())
    assert len(steps) > 10
    bin_dir = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVKV_")}
    env.update(USER="ann", LOGNAME="ann", PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}")
    for command, expected in steps:
        done = subprocess.run(
            ["bash", "-c", f"{{ {command} ; }} 2>&1"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        got = without_times(done.stdout.splitlines())
        assert got == without_times(expected), f"$ {command}\n{done.stdout}"
