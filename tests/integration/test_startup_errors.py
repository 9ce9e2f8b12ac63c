"""`revkv serve` that cannot start: one line (what, where, what to do) and the start-up
exit code of docs/cli.md, never "serving on ..." first, never a traceback. Each with a
real `revkv serve` process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import revkv
from revkv.cli._startup import BAD_CONFIG, CANNOT_LISTEN, IN_USE, NEEDS_REPAIR
from tests.servers import ROOT, RevkvServer, free_port
from tests.tls import make_pki

pytestmark = pytest.mark.slow


def serve(*args: str) -> tuple[int, str]:
    """Run `revkv serve ARGS` to its end; its exit code and its one line on stderr."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(  # noqa: PLW1510 (the exit code is what is tested)
        [sys.executable, "-m", "revkv.cli", "serve", *args],
        env=environment, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert "revkv: serving" not in done.stderr and "Traceback" not in done.stderr
    assert lines[0].startswith("revkv: ")
    return done.returncode, lines[0]


def test_a_locked_directory_names_the_server_holding_it(tmp_path: Path) -> None:
    with RevkvServer(tmp_path) as holder:
        assert holder.process is not None
        code, line = serve("--data", str(tmp_path), "--port", str(free_port()))
        assert code == IN_USE
        assert f"pid {holder.process.pid}" in line
        assert holder.url in line
        assert f"revkv --url {holder.url}" in line  # what to do instead
        environment = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        other = subprocess.run(  # noqa: PLW1510 (the exit code is what is tested)
            [sys.executable, "-m", "revkv.cli", "--data", str(tmp_path), "get", "k"],
            env=environment, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert other.returncode == 4  # any other command names the server too
        assert f"revkv serve at {holder.url}; use --url {holder.url}" in other.stderr
    assert not (tmp_path / "SERVER").exists()  # a clean stop takes its record away


def test_a_damaged_journal_says_to_run_repair(tmp_path: Path) -> None:
    with revkv.open(tmp_path) as store:
        for n in range(3):
            store.put("ns", f"k{n}", b"value %d" % n, author="ann")
    segment = sorted(tmp_path.glob("journal-*.log"))[-1]
    with segment.open("r+b") as file:
        file.seek(150)
        byte = file.read(1)
        file.seek(150)
        file.write(bytes([byte[0] ^ 0xFF]))
    code, line = serve("--data", str(tmp_path), "--port", str(free_port()))
    assert code == NEEDS_REPAIR
    assert "is damaged at byte" in line and f"revkv repair --data {tmp_path}" in line


def test_a_busy_port_is_named(tmp_path: Path) -> None:
    with RevkvServer(None) as busy:
        code, line = serve("--data", str(tmp_path), "--port", str(busy.port))
    assert code == CANNOT_LISTEN
    assert f"cannot listen on 127.0.0.1:{busy.port}: the port is in use" in line
    assert "--port" in line
    assert not (tmp_path / "SYSTEM").exists()  # the store was not even opened


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('port = 8080\nlog_level = "loud"\n', "line 2: log_level must be one of"),
        ("port = 8080\ncolour = 1\n", "line 2: unknown setting(s) colour"),
        ("port = \n", "is not valid TOML: Invalid value (at line 1, column 8)"),
        ('[[tokens]]\nname = "x"\ntoken = "short"\n', "token 'x': token is a string of"),
    ],
)
def test_a_bad_config_file_names_the_line(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "revkv.toml"
    config.write_text(text)
    code, line = serve("--memory", "--config", str(config))
    assert code == BAD_CONFIG
    assert str(config) in line and message in line


def test_a_missing_config_file(tmp_path: Path) -> None:
    code, line = serve("--memory", "--config", str(tmp_path / "nope.toml"))
    assert code == BAD_CONFIG
    assert (
        line
        == f"revkv: cannot read the config file {tmp_path}/nope.toml: No such file or directory"
    )


def test_bad_tls_files(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    port = str(free_port())
    cases = [
        (("--tls-cert", str(tmp_path / "none.crt"), "--tls-key", str(pki.server_key)),
         f"cannot read the TLS certificate {tmp_path}/none.crt: No such file or directory"),
        (("--tls-cert", str(junk), "--tls-key", str(pki.server_key)),
         f"the TLS certificate {junk} is not a PEM certificate"),
        (("--tls-cert", str(pki.server_cert), "--tls-key", str(pki.client_key)),
         "the key is not the one the certificate was issued for"),
        (("--tls-cert", str(pki.server_cert)), "give --tls-key too"),
        (("--tls-cert", str(pki.server_cert), "--tls-key", str(pki.server_key),
          "--tls-ca", str(junk)), f"the TLS CA certificate {junk} is not a PEM"),
    ]  # fmt: skip
    for args, message in cases:
        code, line = serve("--memory", "--port", port, *args)
        assert code == BAD_CONFIG, line
        assert message in line, line
