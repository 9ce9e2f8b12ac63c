"""What docs/operations.md ships: the systemd unit passes `systemd-analyze verify`, and
the Dockerfile is what it should be (docker cannot run here: its health check is run
against real servers instead, plain and TLS)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import ROOT, RevkvServer, free_port
from tests.tls import make_pki

UNIT = ROOT / "contrib" / "revkv.service"
DOCKERFILE = ROOT / "Dockerfile"


def test_the_systemd_unit_verifies(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is missing (apt-get install systemd; make test does)")
    revkv = Path(sys.executable).parent / "revkv"  # the unit names /usr/local/bin/revkv
    unit = tmp_path / "revkv.service"
    unit.write_text(UNIT.read_text().replace("/usr/local/bin/revkv", str(revkv)))
    done = subprocess.run(
        [analyze, "verify", str(unit)], check=False, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "revkv.service" not in done.stderr, done.stderr  # no warning about the unit


def test_the_systemd_unit_reloads_with_sighup_and_stops_with_sigterm() -> None:
    text = UNIT.read_text()
    assert "ExecReload=/bin/kill -HUP $MAINPID" in text
    assert "KillSignal=SIGTERM" in text
    assert "RestartPreventExitStatus=6 8" in text  # docs/cli.md's start-up codes


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_the_dockerfile() -> None:
    instructions = dockerfile()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    args = dict(instructions)  # the last of each
    assert "pip install ." in " ".join(a for i, a in instructions if i == "RUN")
    assert args["USER"] == "revkv"
    assert json.loads(args["VOLUME"]) == ["/var/lib/revkv"]
    assert args["EXPOSE"] == "8080"
    entrypoint = json.loads(args["ENTRYPOINT"])
    assert entrypoint[:2] == ["revkv", "serve"]
    assert entrypoint[entrypoint.index("--data") + 1] == "/var/lib/revkv"
    assert "/health" in args["HEALTHCHECK"]


def healthcheck(port: int) -> int:
    """Run the Dockerfile's HEALTHCHECK command against 127.0.0.1:port; its exit code."""
    command = json.loads(dict(dockerfile())["HEALTHCHECK"].split(" CMD ", 1)[1])
    assert command[:2] == ["python", "-c"]
    script = command[2].replace("127.0.0.1:8080", f"127.0.0.1:{port}")
    return subprocess.run([sys.executable, "-c", script], check=False, timeout=60).returncode


def test_the_docker_healthcheck_against_real_servers(tmp_path: Path) -> None:
    with RevkvServer(None) as plain:
        assert healthcheck(plain.port) == 0
    pki = make_pki(tmp_path / "pki")
    tls = ("--tls-cert", str(pki.server_cert), "--tls-key", str(pki.server_key))
    with RevkvServer(None, *tls, ca=pki.ca) as secure:
        assert healthcheck(secure.port) == 0
    assert healthcheck(free_port()) == 1  # nothing listening
