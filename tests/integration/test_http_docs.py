"""Every example in docs/http-api.md really runs and answers what the page shows.

The page is where people copy requests from, and its answers (status codes, error
bodies, revs, versions) are the API's contract told by example: when the server starts
answering differently this fails, until the page says the new thing. As for docs/cli.md
(test_cli_docs.py), the page's ```console blocks are shell sessions: each `$ ` line runs
(bash, in an empty directory, stderr merged into stdout, the page's
`http://127.0.0.1:8080` replaced by a real server's address) and what it prints must
equal the lines under it once what varies from run to run is a placeholder (VARIES):

- times: ISO ones (`2026-11-23T13:10:49.442Z`, in bodies and in `X-Rainer-*` headers)
  and the `date:` header that `curl -i` shows; the page has no epoch times;
- the seconds spent in fsync (`revkv_journal_fsync_seconds_sum`) in the metrics excerpt.

Nothing else: revs, versions, authors, comments, status lines, headers, byte counts and
error bodies must be exact. Each `## ` section runs against the server the page says it
ran against (SERVER_OF): one on-disk `revkv serve` (what `make serve` starts) for the
main sections, in page order; one started with the Auth section's revkv.toml, parsed
from the page so that the two cannot drift; and a fresh on-disk one for Metrics, whose
block makes its own three writes. A watch stream, which the page ends with `^C`, gets
SIGINT (Ctrl-C) after STREAM_SECONDS and is compared up to that line. ```sh, ```toml and
```yaml blocks are not sessions and are not compared.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from tests.servers import ROOT, RevkvServer

DOCS = ROOT / "docs" / "http-api.md"
DOCS_URL = "http://127.0.0.1:8080"  # where the page's examples find a server
VARIES = [
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3,}Z"), "<time>"),
    (re.compile(r"^date: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$"), "date: <date>"),
    (re.compile(r"^(revkv_journal_fsync_seconds_sum) \d+(\.\d+)?(e-\d+)?$"), r"\1 <seconds>"),
]
SERVER_OF = {  # the `## ` section -> the server its examples ran against
    "Routes": "main",
    "Writing and reading": "main",
    "Namespaces": "main",
    "Transactions": "main",
    "Watching changes": "main",
    "Errors": "main",
    "Removing history: purge and compaction": "main",
    "Reading your writes across servers": "main",
    "Auth": "auth",
    "Metrics": "metrics",
}
STREAM_SECONDS = 1  # a watch stream's events are all in the past: they come at once
INTERRUPTED = "^C"


@dataclass
class Step:
    section: str
    command: str
    expected: list[str] = field(default_factory=list)


def session(text: str) -> list[Step]:
    """A step for each `$ ` line of the ```console blocks, with its `## ` section."""
    steps: list[Step] = []
    section = ""
    inside = False
    for line in text.splitlines():
        if line.startswith("```"):
            inside = line.startswith("```console")
        elif inside and line.startswith("$ "):
            steps.append(Step(section, line[2:]))
        elif inside:
            steps[-1].expected.append(line)
        elif line.startswith("## "):
            section = line[3:].strip()
    return steps


def block(text: str, section: str, language: str) -> str:
    """The first ```language block of a `## ` section."""
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(rf"^```{language}\n(.*?)^```", body, re.S | re.M)
    assert match, f"no {language} block in ## {section}"
    return match.group(1)


def normalised(lines: list[str]) -> list[str]:
    for pattern, placeholder in VARIES:
        lines = [pattern.sub(placeholder, line) for line in lines]
    return lines


def test_every_example_in_the_http_docs_answers_as_shown(tmp_path: Path) -> None:
    text = DOCS.read_text()
    steps = session(text)
    assert len(steps) > 30
    unplaced = {step.section for step in steps} - set(SERVER_OF)
    assert not unplaced, f"say in SERVER_OF which server runs the examples of {unplaced}"
    bin_dir = Path(sys.executable).parent
    assert (bin_dir / "revkv").exists(), "the revkv console script is not installed"
    config = tmp_path / "revkv.toml"
    config.write_text(block(text, "Auth", "toml"))
    shell = tmp_path / "shell"
    shell.mkdir()
    with ExitStack() as stack:
        servers = {
            "main": stack.enter_context(RevkvServer(tmp_path / "main")),
            "auth": stack.enter_context(RevkvServer(tmp_path / "auth", "--config", str(config))),
            "metrics": stack.enter_context(RevkvServer(tmp_path / "metrics")),
        }
        for step in steps:
            url = servers[SERVER_OF[step.section]].url
            command, expected = interrupted(step.command.replace(DOCS_URL, url), step.expected)
            printed = run(command, shell, bin_dir)
            expected = [line.replace(DOCS_URL, url) for line in expected]
            assert normalised(printed) == normalised(expected), f"$ {step.command}"


def interrupted(command: str, expected: list[str]) -> tuple[str, list[str]]:
    """A stream the page ends with ^C is sent SIGINT, as Ctrl-C would, after a while."""
    if expected[-1:] != [INTERRUPTED]:
        return command, expected
    assert command.startswith("curl "), command
    return f"timeout -s INT {STREAM_SECONDS} {command}", expected[:-1]


def run(command: str, cwd: Path, bin_dir: Path) -> list[str]:
    """What the command prints; it and whatever it starts are killed if it hangs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVKV_")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    process = subprocess.Popen(
        ["bash", "-c", f"{{ {command} ; }} 2>&1"], cwd=cwd, env=env,
        stdout=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        out, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, _ = process.communicate()
        raise AssertionError(f"$ {command} did not end in 30 s; it printed:\n{out}") from None
    return out.splitlines()
