"""`revkv serve` and signals: SIGHUP reloads the tokens without dropping a connection;
SIGTERM and SIGINT stop it gracefully (exit 0, "stopped"); logs are one line each, as
text or JSON, the access log included when asked for."""

from __future__ import annotations

import json
import signal
import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.servers import RevkvServer
from tests.tls import make_pki

pytestmark = pytest.mark.slow

OLD = "old-token-0123456789"
NEW = "new-token-0123456789"


def tokens(*secrets: str) -> str:
    return "".join(
        f'[[tokens]]\nname = "t{n}"\ntoken = "{s}"\nrights = "read-write"\n'
        for n, s in enumerate(secrets)
    )


def ask(sock: socket.socket, token: str) -> int:
    """One GET on a kept-alive connection; its status."""
    sock.sendall(
        f"GET /kv/ns HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        head += chunk
    top, _, rest = head.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in top.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    while len(rest) < length:
        rest += sock.recv(65536)
    return int(top.split(b" ")[1])


def status(server: RevkvServer, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.get(f"{server.url}/kv/ns", headers=headers, timeout=10).status_code


def test_sighup_reloads_tokens_and_keeps_connections(tmp_path: Path) -> None:
    config = tmp_path / "revkv.toml"
    config.write_text(tokens(OLD))
    args = ("--config", str(config), "--keep-alive-timeout", "300")
    with (
        RevkvServer(None, *args) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=30) as kept,
    ):
        assert server.process is not None
        assert ask(kept, OLD) == 200
        assert ask(kept, NEW) == 401
        config.write_text(tokens(NEW))
        server.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while status(server, OLD) != 401:  # the reload runs on the server's loop
            assert time.monotonic() < deadline, "SIGHUP did not reload the tokens"
            time.sleep(0.05)
        assert ask(kept, OLD) == 401  # the same connection, still open
        assert ask(kept, NEW) == 200


def test_a_bad_config_on_sighup_keeps_the_old_tokens(tmp_path: Path) -> None:
    config = tmp_path / "revkv.toml"
    config.write_text(tokens(OLD))
    with RevkvServer(None, "--config", str(config)) as server:
        assert server.process is not None and server.process.stderr is not None
        assert server.process.stderr.readline().startswith(b"revkv: serving ")
        config.write_text('[[tokens]]\nname = "x"\ntoken = "short"\n')
        server.process.send_signal(signal.SIGHUP)
        logged = server.process.stderr.readline().decode()  # the next line is the reload's
        assert " ERROR revkv.cli._serve: SIGHUP: the tokens were not reloaded" in logged
        assert "token 'x': token is a string of at least 16 characters" in logged
        assert status(server, OLD) == 200


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_sigint_stop_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    server = RevkvServer(tmp_path).start()
    assert server.process is not None
    process = server.process
    httpx.put(f"{server.url}/kv/ns/k", content=b"x", timeout=10).raise_for_status()
    process.send_signal(sig)
    assert process.wait(30) == 0
    assert process.stderr is not None
    err = process.stderr.read().decode()
    server.stop()
    assert err.splitlines()[-1] == f"revkv: stopped ({sig.name})"
    assert "Aborted" not in err and "Traceback" not in err
    assert not (tmp_path / "SERVER").exists()


def test_json_logs_with_the_access_log(tmp_path: Path) -> None:
    args = ("--log-format", "json", "--access-log", "--log-level", "info")
    server = RevkvServer(tmp_path, *args).start()
    assert server.process is not None
    process = server.process
    httpx.put(f"{server.url}/kv/ns/k", content=b"x", timeout=10).raise_for_status()
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    assert process.stderr is not None
    lines = process.stderr.read().decode().splitlines()
    server.stop()
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= e.keys() for e in entries)
    access = [e for e in entries if e["logger"] == "uvicorn.access"]
    assert {(e["method"], e["path"], e["status"]) for e in access} >= {("PUT", "/kv/ns/k", 201)}
    assert any(e["message"].startswith("serving ") for e in entries)
    assert entries[-1]["message"] == "stopped (SIGTERM)"


def test_text_logs_are_one_line_each_and_the_access_log_is_off_by_default(
    tmp_path: Path,
) -> None:
    server = RevkvServer(tmp_path, "--log-level", "info").start()
    assert server.process is not None
    process = server.process
    httpx.put(f"{server.url}/kv/ns/k", content=b"x", timeout=10).raise_for_status()
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    assert process.stderr is not None
    lines = process.stderr.read().decode().splitlines()
    server.stop()
    assert "uvicorn.access" not in "\n".join(lines)
    logged = [line for line in lines if not line.startswith("revkv: ")]
    assert logged and all(" INFO " in line or " WARNING " in line for line in logged)
    assert any("uvicorn.error: Application startup complete." in line for line in logged)


def test_sighup_refuses_an_empty_token_list_on_a_public_address(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    config = tmp_path / "revkv.toml"
    tls = f'tls_cert = "{pki.server_cert}"\ntls_key = "{pki.server_key}"\nhost = "0.0.0.0"\n'
    config.write_text(tls + tokens(OLD))
    with RevkvServer(None, "--config", str(config), ca=pki.ca) as server:
        assert server.process is not None and server.process.stderr is not None
        assert server.process.stderr.readline().startswith(b"revkv: serving ")
        config.write_text(tls)  # every token removed: anyone could write
        server.process.send_signal(signal.SIGHUP)
        logged = server.process.stderr.readline().decode()
        assert "SIGHUP: the tokens were not reloaded" in logged
        assert "with no tokens configured" in logged
        answer = httpx.get(f"{server.url}/kv/ns", verify=server.verify, timeout=10)
        assert answer.status_code == 401
