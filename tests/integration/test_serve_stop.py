"""Ctrl-C and SIGTERM stop `revkv serve` with exit 0 and one line, also while it is still
starting (no "Aborted!", no traceback), and `make serve` on a terminal stops on Ctrl-C
without a make error. Real processes; the terminal is a pseudo-terminal."""

from __future__ import annotations

import os
import pty
import select
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import ROOT, RevkvServer, free_port

REVKV = str(Path(sys.executable).parent / "revkv")


def environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src")}


@pytest.fixture
def silent_database() -> Iterator[socket.socket]:
    """A "PostgreSQL server" that accepts connections and never answers: revkv serve's
    start-up waits on it, so a signal sent once it has connected comes while it starts."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(60)
        yield listener


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_a_signal_while_starting_is_a_clean_stop(
    silent_database: socket.socket, sig: signal.Signals
) -> None:
    url = f"postgresql://revkv@127.0.0.1:{silent_database.getsockname()[1]}/revkv"
    command = [REVKV, "serve", "--db", url, "--port", str(free_port())]
    server = subprocess.Popen(command, env=environment(), stderr=subprocess.PIPE)
    try:
        connection, _ = silent_database.accept()  # revkv serve is starting: it connected
        with connection:
            server.send_signal(sig)
            _, err = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert server.returncode == 0, err
    assert err.decode() == f"revkv: stopped ({sig.name})\n"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_a_signal_while_serving_is_a_clean_stop(tmp_path: Path, sig: signal.Signals) -> None:
    server = RevkvServer(tmp_path).start()
    process = server.process
    assert process is not None and process.stderr is not None
    process.send_signal(sig)
    process.wait(60)
    err = process.stderr.read().decode()
    server.stop()
    assert process.returncode == 0
    assert err.endswith(f"revkv: stopped ({sig.name})\n")
    assert "Traceback" not in err and "Aborted!" not in err


def read_terminal(master: int) -> str:
    """Everything written to the pseudo-terminal until the last process closes it."""
    out = b""
    while select.select([master], [], [], 60)[0]:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: no process holds the terminal any more
            break
        if not chunk:
            break
        out += chunk
    return out.decode(errors="replace")


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_serve_stops_on_ctrl_c_without_a_make_error() -> None:
    port = free_port()
    master, slave = pty.openpty()
    make = subprocess.Popen(
        ["make", "--no-print-directory", "-o", ".venv/.installed", "serve",
         f"BIN={Path(sys.executable).parent}", f"SERVE_ARGS=--memory --port {port}"],
        cwd=ROOT, env=environment(), stdin=slave, stdout=slave, stderr=slave,
        start_new_session=True,
        preexec_fn=_take_terminal,  # noqa: PLW1509 (a pty as controlling terminal needs it)
    )  # fmt: skip
    os.close(slave)
    try:
        seen = ""
        while "serving memory on" not in seen:
            assert select.select([master], [], [], 60)[0], f"no serving line: {seen!r}"
            seen += os.read(master, 4096).decode(errors="replace")
        os.write(master, b"\x03")  # Ctrl-C, as typed: SIGINT to the terminal's foreground
        seen += read_terminal(master)
        assert make.wait(60) == 0, seen
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()
        os.close(master)
    assert "revkv: stopped (SIGINT)" in seen
    assert "make: ***" not in seen and "Aborted!" not in seen and "Traceback" not in seen


def _take_terminal() -> None:
    import fcntl
    import termios

    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
