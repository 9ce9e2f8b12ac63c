"""A `--url` that is not a revkv server: a web page, another HTTP service, a proxy whose
server is down, or a revkv server's own `/kv` route given as its URL. Each is one line on
stderr saying what answered and which URL to give, exit 4, never the page nor a traceback.

The other servers are real HTTP servers (the standard library's, in a thread); the revkv
one a real `revkv serve` process.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import revkv
from tests.integration.test_cli_url import REVKV, invoke, process_env
from tests.servers import RevkvServer

HINT = "give the server's base URL, e.g. http://127.0.0.1:8080\n"
PAGE = b"<!DOCTYPE html><html><head><title>Welcome</title></head><body>hello</body></html>"


class Other(BaseHTTPRequestHandler):
    """Answers every request as `status`, `kind` and `body` say (set per server)."""

    status = 200
    kind = "text/html"
    body = PAGE

    def answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        self.send_response(self.status)
        self.send_header("Content-Type", self.kind)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(self.body)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = answer

    def log_message(self, format: str, *args: object) -> None:
        pass


def serving(status: int, kind: str, body: bytes) -> Iterator[str]:
    handler = type("Handler", (Other,), {"status": status, "kind": kind, "body": body})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def web_page() -> Iterator[str]:
    """A site that answers every path with a 200 HTML page (a single-page app)."""
    yield from serving(200, "text/html; charset=utf-8", PAGE)


@pytest.fixture
def missing_page() -> Iterator[str]:
    """A web server with none of revkv's paths: 404 and an HTML error page."""
    yield from serving(404, "text/html", b"<html><body><h1>Not Found</h1></body></html>")


@pytest.fixture
def json_service() -> Iterator[str]:
    """Another JSON API: 200 and a JSON object of its own for everything."""
    yield from serving(200, "application/json", json.dumps({"status": "up", "items": 3}).encode())


@pytest.fixture
def gateway() -> Iterator[str]:
    """A proxy whose server behind it is down: 502 and its HTML page."""
    yield from serving(502, "text/html", b"<html><body>502 Bad Gateway</body></html>")


COMMANDS = [["get", "k"], ["set", "k", "v"], ["list"], ["history", "k"], ["meta", "k"],
            ["delete", "k"], ["ns", "list"], ["watch"], ["watch", "--no-follow"],
            ["export", "-"], ["stats"], ["diff", "k", "1", "2"]]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("site", ["web_page", "missing_page", "json_service"])
def test_a_url_that_is_not_revkv_is_one_line_and_exit_4(
    command: list[str], site: str, request: pytest.FixtureRequest
) -> None:
    url: str = request.getfixturevalue(site)
    result = invoke(*command, "--url", url)
    assert (result.exit_code, result.stdout) == (4, ""), result.output
    assert result.stderr.startswith(f"revkv: {url} is not a revkv server: ")
    assert result.stderr.endswith(HINT)
    assert result.stderr.count("\n") == 1
    assert "<" not in result.stderr  # no page dumped


def test_the_line_says_what_answered(missing_page: str, json_service: str) -> None:
    assert invoke("--url", missing_page, "get", "k").stderr == (
        f"revkv: {missing_page} is not a revkv server: GET /kv/default/k answered HTTP 404 "
        f"Not Found (text/html): not revkv's error JSON; {HINT}"
    )
    shown = invoke("--url", json_service, "history", "k").stderr
    assert "GET /kv/default/k/history answered HTTP 200 OK (application/json): not revkv's" in shown


def test_a_proxy_whose_server_is_down_says_so(gateway: str) -> None:
    result = invoke("get", "k", "--url", gateway)
    assert (result.exit_code, result.stdout) == (4, "")
    assert result.stderr == (
        f"revkv: cannot reach {gateway}: GET /kv/default/k answered HTTP 502 Bad Gateway "
        "(text/html): not revkv's error JSON (a proxy's answer? the revkv server behind it "
        "may be down)\n"
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RevkvServer]:
    with RevkvServer(tmp_path_factory.mktemp("served")) as running:
        yield running


@pytest.mark.parametrize("route", ["/kv", "/kv/", "/kv/default/greeting", "/odata", "/ui/"])
def test_a_url_into_revkv_routes_names_the_base_url(server: RevkvServer, route: str) -> None:
    url = server.url + route
    result = invoke("get", "greeting", "--url", url)
    assert (result.exit_code, result.stdout) == (4, "")
    name = route.strip("/").split("/")[0]
    assert result.stderr == (
        f"revkv: {url.rstrip('/')} is not a revkv server: /{name} is one of its routes; "
        f"give the server's base URL, e.g. {server.url}\n"
    )


def test_the_server_url_itself_works_on_either_side(server: RevkvServer) -> None:
    assert invoke("--url", server.url, "put", "greeting", "hello").exit_code == 0
    assert invoke("get", "greeting", "--url", server.url).stdout == "hello"
    assert invoke("--url", server.url, "-n", "default", "get", "greeting").stdout == "hello"
    result = invoke("get", "greeting", "-n", "other", "--url", server.url)
    assert result.exit_code == 1  # the namespace after the command was sent


def test_the_client_refuses_a_route_url_and_a_foreign_answer(missing_page: str) -> None:
    with pytest.raises(revkv.NotRevkvServer, match="/kv is one of its routes"):
        revkv.Client("http://127.0.0.1:8080/kv")
    with revkv.Client(missing_page) as client, pytest.raises(revkv.NotRevkvServer) as raised:
        client.get("default", "k")
    assert isinstance(raised.value, revkv.Unreachable)  # handled where a down server is
    assert raised.value.url == missing_page


def test_a_real_process_prints_one_line(missing_page: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [REVKV, "get", "k", "--url", missing_page],
        env=process_env(), capture_output=True, timeout=60, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (4, b"")
    assert done.stderr.decode().startswith(f"revkv: {missing_page} is not a revkv server: GET")
    assert b"Traceback" not in done.stderr and done.stderr.count(b"\n") == 1
