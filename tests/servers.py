"""Real `revkv serve` processes for integration tests: started, awaited, stopped.

with RevkvServer(tmp_path) as server:
    httpx.get(server.url + "/health")
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RevkvServer:
    """A `revkv serve` child process on a free port; `data=None` serves from memory, a
    `postgresql://` URL from that database."""

    def __init__(
        self,
        data: Path | str | None,
        *args: str,
        port: int | None = None,
        env: dict[str, str] | None = None,
        ca: Path | None = None,
        cert: tuple[Path, Path] | None = None,
    ) -> None:
        self.data = data
        self.ca = ca  # served over TLS, with a certificate this CA signed
        self.cert = cert  # the client's certificate and key, if the server asks for one
        self.args = args
        self.port = port or free_port()
        self.env = env or {}
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.ca else 'http'}://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> RevkvServer:
        command = [
            sys.executable,
            "-m",
            "revkv.cli",
            "serve",
            *self.where(),
            "--port",
            str(self.port),
        ]
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **self.env}
        self.process = subprocess.Popen([*command, *self.args], env=env, stderr=subprocess.PIPE)
        self._wait_healthy(timeout)
        return self

    @property
    def verify(self) -> ssl.SSLContext | bool:
        """What a client of this server verifies it with (and presents, with `cert`)."""
        if self.ca is None:
            return True
        context = ssl.create_default_context(cafile=self.ca)
        if self.cert is not None:
            context.load_cert_chain(*self.cert)
        return context

    def where(self) -> list[str]:
        """The flags that say which store to serve."""
        if isinstance(self.data, str):
            return ["--db", self.data]
        return ["--memory"] if self.data is None else ["--data", str(self.data)]

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                code = self.stop()
                raise RuntimeError(f"revkv serve exited with {code}: {err}")
            try:
                answer = httpx.get(self.url + "/health", timeout=1, verify=self.verify)
                if answer.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("revkv serve did not become healthy in time")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        """Stop the server (SIGTERM: graceful; SIGKILL: a crash); returns its exit code."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr is not None:
            self.process.stderr.close()
        code = self.process.returncode
        self.process = None
        return code

    def __enter__(self) -> RevkvServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
