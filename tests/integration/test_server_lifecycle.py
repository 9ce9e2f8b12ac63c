"""`revkv serve` as a process: stopped (SIGTERM) or killed (SIGKILL) while clients write,
every acknowledged write is there after a restart; it will not listen beyond loopback
without tokens unless told `--insecure`; it refuses a body over the limit before the
client has sent it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import ROOT, RevkvServer, free_port

pytestmark = pytest.mark.slow

WRITERS = 6


class Writers:
    """Threads writing fresh keys as fast as the server answers, through PUT and Rainer's
    POST; `acknowledged` holds what got a 2xx: (key, version, payload)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.acknowledged: list[tuple[str, int, bytes]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.threads = [threading.Thread(target=self._write, args=(n,)) for n in range(WRITERS)]
        for thread in self.threads:
            thread.start()

    def _write(self, writer: int) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            for n in range(1_000_000):
                if self._stop.is_set():
                    return
                key, payload = f"w{writer}-{n}", b"%d:%d" % (writer, n)
                try:
                    if n % 2:
                        response = client.put(f"/kv/ns/{key}", content=payload)
                    else:
                        headers = {"X-Rainer-Author": f"writer{writer}"}
                        response = client.post(f"/kv/ns/{key}/1", content=payload, headers=headers)
                except httpx.TransportError:
                    return  # the server went away
                if response.status_code // 100 == 2:
                    with self._lock:
                        self.acknowledged.append((key, response.json()["version"], payload))

    def wait_for(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acknowledged) < count:
            assert time.monotonic() < deadline, "the writers made no progress"
            time.sleep(0.01)

    def stop(self) -> None:
        self._stop.set()
        for thread in self.threads:
            thread.join(timeout=60)


def assert_all_present(data: Path, acknowledged: list[tuple[str, int, bytes]]) -> None:
    assert acknowledged
    with RevkvServer(data) as again, httpx.Client(base_url=again.url, timeout=10) as client:
        listing = client.get("/kv/ns").json()
        for key, version, payload in acknowledged:
            assert listing[key]["version"] == version, key
            assert client.get(f"/kv/ns/{key}/{version}").content == payload


def test_sigterm_with_writes_in_flight(tmp_path: Path) -> None:
    server = RevkvServer(tmp_path).start()
    writers = Writers(server.url)
    try:
        writers.wait_for(200)
        at_sigterm = len(writers.acknowledged)
        code = server.stop(signal.SIGTERM)
    finally:
        writers.stop()
        server.stop(signal.SIGKILL)
    assert code in (0, -signal.SIGTERM)  # uvicorn re-raises SIGTERM once it has shut down
    assert len(writers.acknowledged) > at_sigterm  # writes in flight were answered, not cut
    assert_all_present(tmp_path, writers.acknowledged)


@pytest.mark.crash
def test_sigkill_with_writes_in_flight(tmp_path: Path) -> None:
    server = RevkvServer(tmp_path).start()
    writers = Writers(server.url)
    try:
        writers.wait_for(200)
        code = server.stop(signal.SIGKILL)
    finally:
        writers.stop()
        server.stop(signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert_all_present(tmp_path, writers.acknowledged)


def serve(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "revkv.cli", "serve", "--memory", *args]
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})}
    return subprocess.Popen(
        command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_refuses_to_listen_beyond_loopback_without_tokens(host: str) -> None:
    process = serve("--host", host, "--port", str(free_port()))
    _, err = process.communicate(timeout=30)
    assert process.returncode == 8
    assert f"refusing to listen on {host}" in err
    assert "--insecure" in err
    assert "Traceback" not in err


def test_refuses_a_public_host_from_the_environment_too() -> None:
    process = serve("--port", str(free_port()), env={"REVKV_HOST": "0.0.0.0"})
    _, err = process.communicate(timeout=30)
    assert process.returncode == 8
    assert "refusing to listen on 0.0.0.0" in err


def test_insecure_allows_it() -> None:
    with RevkvServer(None, "--host", "0.0.0.0", "--insecure") as server:
        assert httpx.get(f"{server.url}/health", timeout=10).json()["status"] == "ok"


def test_tokens_over_plain_http_need_insecure(tmp_path: Path) -> None:
    """Beyond loopback, tokens in clear need TLS (tests/integration/test_tls.py) or
    --insecure (a trusted network)."""
    config = tmp_path / "revkv.toml"
    config.write_text(
        '[[tokens]]\nname = "ops"\ntoken = "0123456789abcdef-ops"\nrights = "read-write"\n'
    )
    refused = serve("--host", "0.0.0.0", "--port", str(free_port()), "--config", str(config))
    _, err = refused.communicate(timeout=30)
    assert refused.returncode == 8
    assert "with tokens over plain HTTP" in err and "--tls-cert" in err
    args = ("--host", "0.0.0.0", "--config", str(config), "--insecure")
    with RevkvServer(None, *args) as server:
        url = f"{server.url}/kv/ns/k"
        assert httpx.put(url, content=b"x", timeout=10).status_code == 401
        auth = {"Authorization": "Bearer 0123456789abcdef-ops"}
        written = httpx.put(url, content=b"x", headers=auth, timeout=10)
        assert written.status_code == 201
        assert written.json()["author"] == "ops"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_loopback_needs_nothing(host: str) -> None:
    port = free_port()
    process = serve("--host", host, "--port", str(port))
    try:
        url_host = f"[{host}]" if ":" in host else host
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            try:
                if httpx.get(f"http://{url_host}:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.05)
    finally:
        process.terminate()
        process.communicate(timeout=30)


@pytest.fixture(scope="module")
def small() -> Iterator[RevkvServer]:
    with RevkvServer(None) as server:
        limited = httpx.put(f"{server.url}/ns/small", json={"max_payload": 1000}, timeout=10)
        limited.raise_for_status()
        yield server


def answer(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


@pytest.mark.parametrize(
    "request_line", [b"PUT /kv/small/k", b"POST /kv/small/k/1", b"PUT /kv/fresh/k"]
)
def test_a_declared_length_over_the_limit_is_refused_before_the_body_comes(
    small: RevkvServer, request_line: bytes
) -> None:
    head = request_line + b" HTTP/1.1\r\nHost: test\r\nX-Rainer-Author: a\r\n"
    with socket.create_connection(("127.0.0.1", small.port), timeout=10) as sock:
        sock.sendall(head + b"Content-Length: 1000000000\r\n\r\n" + b"x" * 1000)
        response = answer(sock)  # 999,999,000 bytes never sent
    assert response.startswith(b"HTTP/1.1 413 ")


def test_a_chunked_body_is_refused_once_it_passes_the_limit(small: RevkvServer) -> None:
    head = b"PUT /kv/small/k HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
    with socket.create_connection(("127.0.0.1", small.port), timeout=10) as sock:
        sock.sendall(head + (b"64\r\n" + b"x" * 100 + b"\r\n") * 20)  # twice the limit, no end
        response = answer(sock)
    assert response.startswith(b"HTTP/1.1 413 ")
