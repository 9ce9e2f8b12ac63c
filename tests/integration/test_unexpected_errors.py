"""A request that meets a bug gets a 500 and the server goes on serving (issue 13).

A `$filter` whose type check recursed too deep (fixed in ba4a5d6) did not just fail: the
real server stopped answering everyone, `/health` included. Its RecursionError was
answered 500 all right, but logging the 140 KB traceback blocked the event loop on a
stderr pipe nobody read (a test's server, a stuck log reader), which holds 64 KB. Since
then log lines are written on a thread of their own (`revkv.cli._logging`). These
servers' stderr is a pipe that the tests leave unread, as `RevkvServer` does.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.servers import ROOT, RevkvServer

HOOK = Path(__file__).resolve().parents[1] / "hooks" / "failing_scan"
"""Its sitecustomize makes a scan fail whose `$filter` says 'explode' (test-only)."""

EXPLODE = quote("Key eq 'explode'")
SCANS = [
    f"/kv/ns?$filter={EXPLODE}",
    f"/kv/ns?$top=1&$filter={EXPLODE}",
    f"/odata/ns?$filter={EXPLODE}&$format=json",
    f"/odata/ns?$filter={EXPLODE}",
    f"/odata/ns/$count?$filter={EXPLODE}",
]


def ask(
    server: RevkvServer, path: str, method: str = "GET", body: bytes = b""
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(method, path, body)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@contextmanager
def failing_server() -> Iterator[RevkvServer]:
    """A server with the hook and one key, `ns/k` (OData knows a namespace that has keys)."""
    with RevkvServer(None, env={"PYTHONPATH": f"{HOOK}{os.pathsep}{ROOT / 'src'}"}) as server:
        assert ask(server, "/kv/ns/k", "PUT", b"v")[0] == 201
        yield server


@pytest.mark.parametrize("path", SCANS)
def test_a_scan_that_fails_is_a_500_and_the_server_goes_on(path: str) -> None:
    with failing_server() as server:
        for _ in range(3):  # each traceback alone is more than the pipe holds
            status, body = ask(server, path)
            assert status == 500, body[:300]
            assert b"Traceback" not in body and b"RecursionError" not in body
            assert b"InternalError" in body
            assert ask(server, "/health")[0] == 200
        status, body = ask(server, "/kv/ns?$filter=" + quote("Key eq 'k'"))
        assert status == 200, body[:300]
        assert b'"k"' in body


def test_the_500_is_revkvs_json_error_and_the_traceback_is_in_the_log() -> None:
    with failing_server() as server:
        assert server.process is not None
        process = server.process
        status, body = ask(server, SCANS[0])
        assert status == 500
        assert json.loads(body) == {
            "error": {
                "code": "InternalError",
                "message": "the server failed; this is a bug, see its log",
            }
        }
        assert ask(server, "/health")[0] == 200
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)  # read at last: the log drains
    assert process.returncode == 0
    lines = err.decode().splitlines()
    failed = [line for line in lines if "unexpected error on GET /kv/ns" in line]
    assert len(failed) == 1
    assert "Traceback" in failed[0] and failed[0].endswith("maximum recursion depth exceeded")
    assert lines[-1] == "revkv: stopped (SIGTERM)"


def test_a_server_whose_stderr_nobody_reads_goes_on_serving() -> None:
    """Without any bug: an access log line per request fills the unread pipe after a few
    hundred requests, and before, the next line stopped the server."""
    with RevkvServer(None, "--access-log", "--log-level", "info") as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        for _ in range(3000):  # about 250 KB of access log
            conn.request("GET", "/health")
            response = conn.getresponse()
            response.read()
            assert response.status == 200
        conn.close()
        assert server.stop() == 0
