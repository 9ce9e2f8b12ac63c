"""The page with tokens on, in a real browser: the token asked once and kept in an
HttpOnly session cookie, a read-only token sees no edit buttons, refusals in the
server's words; and a page of another origin learns nothing and changes nothing."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shoot
from tests.servers import RevkvServer, free_port

WRITER = "writer-token-0123456789"
READER = "reader-token-0123456789"
CONFIG = f"""
[[tokens]]
name = "alice"
token = "{WRITER}"
rights = "read-write"

[[tokens]]
name = "viewer"
token = "{READER}"
rights = "read"
"""


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[RevkvServer]:
    config = tmp_path / "revkv.toml"
    config.write_text(CONFIG)
    with RevkvServer(tmp_path / "data", "--config", str(config)) as running:
        answer = httpx.put(
            f"{running.url}/kv/app/motd",
            content=b"hi",
            headers={"Authorization": f"Bearer {WRITER}"},
        )
        assert answer.status_code in (200, 201)
        yield running


def sign_in(page: Any, server: RevkvServer, token: str, where: str = "/ui/") -> None:
    page.goto(server.url + where)
    expect(page.locator("h1")).to_have_text("Sign in")
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Sign in").click()


def test_the_token_is_asked_once_and_never_readable_by_script(
    page: Any, secured: RevkvServer
) -> None:
    page.goto(secured.url + "/ui/")
    page.get_by_label("Token").fill("not-the-right-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".error")).to_contain_text("the token is not valid for this server")
    shoot(page, "login-refused")

    sign_in(page, secured, WRITER, "/ui/key/app?key=motd")
    expect(page.locator("h1")).to_have_text("motd")  # back where it was going
    assert page.evaluate("document.cookie") == ""  # HttpOnly: no script sees the session
    cookie = page.context.cookies()[0]
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Strict", "/ui")
    assert WRITER not in cookie["value"]

    page.goto(secured.url + "/ui/ns/app")  # a second page: not asked again
    expect(page.locator("h1")).to_have_text("app")
    expect(page.locator("#live")).to_have_attribute("data-state", "live")

    page.goto(secured.url + "/ui/edit/app?key=motd")
    expect(page.get_by_label("Author")).to_have_value("alice")
    page.locator("#payload").fill("hello")
    page.get_by_label("Author").fill("")
    page.locator("#save").click()
    expect(page.locator("#meta")).to_contain_text("alice")  # the token's name signs it

    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("h1")).to_have_text("Sign in")


def test_a_read_only_token_sees_no_edit_buttons_and_refusals_say_why(
    page: Any, secured: RevkvServer
) -> None:
    sign_in(page, secured, READER, "/ui/key/app?key=motd")
    expect(page.locator("h1")).to_have_text("motd")
    expect(page.locator("header")).to_contain_text("viewer (read-only)")
    for control in ("#edit", "#delete", "#new-key", "details.revert"):
        expect(page.locator(control)).to_have_count(0)
    shoot(page, "read-only-key")
    page.goto(secured.url + "/ui/edit/app?key=motd")  # typed by hand: the server refuses
    expect(page.locator("#refusal")).to_contain_text("token 'viewer' may not write to namespace")


ATTACKER = """<!doctype html><html><body>
<iframe name="sink"></iframe>
<form id="f" method="post" target="sink" action="{target}/ui/put/app">
  <input name="key" value="motd"><input name="expect" value="1">
  <input name="payload" value="pwned"><input name="csrf" value="guess">
</form>
<script>
window.results = {{}};
fetch("{target}/ui/key/app?key=motd", {{credentials: "include"}})
  .then(r => r.text()).then(t => results.page = t, e => results.page = "blocked: " + e);
fetch("{target}/ui/live?ns=app", {{credentials: "include"}})
  .then(r => r.text()).then(t => results.live = t, e => results.live = "blocked: " + e);
const stream = new EventSource("{target}/ui/live?ns=app", {{withCredentials: true}});
stream.onmessage = e => results.event = e.data;
stream.onerror = () => {{ results.stream = "error"; stream.close(); }};
document.getElementById("f").submit();
</script></body></html>"""


@pytest.fixture
def attacker(secured: RevkvServer) -> Iterator[str]:
    """A page on another site (localhost is not 127.0.0.1's site) aiming at the UI."""
    body = ATTACKER.format(target=secured.url).encode()
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            seen.append(self.path)

    server = http.server.HTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join()


def test_another_origin_learns_nothing_and_changes_nothing(
    page: Any, secured: RevkvServer, attacker: str
) -> None:
    sign_in(page, secured, WRITER, "/ui/key/app?key=motd")
    expect(page.locator("h1")).to_have_text("motd")  # signed in: the cookie exists

    page.goto(attacker)
    page.wait_for_function(
        "window.results && results.page && results.live && results.stream", timeout=15_000
    )
    results = page.evaluate("window.results")
    assert results["page"].startswith("blocked: ")  # no CORS: the answer is unreadable
    assert results["live"].startswith("blocked: ")
    assert results["stream"] == "error" and "event" not in results
    page.wait_for_load_state("networkidle")
    current = httpx.get(f"{secured.url}/kv/app/motd", headers={"Authorization": f"Bearer {WRITER}"})
    assert current.content == b"hi"  # the cross-site form post wrote nothing
    sink = page.frame(name="sink")
    assert sink is not None and "/ui/login" in sink.url  # it came without the cookie

    # and the same form, posted by a page of the UI's own site but without the CSRF
    # token, is refused too
    page.goto(secured.url + "/ui/key/app?key=motd")
    status = page.evaluate(
        """() => fetch("/ui/put/app", {method: "POST", body: new URLSearchParams(
             {key: "motd", expect: "1", payload: "pwned", csrf: "guess"})}).then(r => r.status)"""
    )
    assert status == 403
    assert (
        httpx.get(
            f"{secured.url}/kv/app/motd", headers={"Authorization": f"Bearer {WRITER}"}
        ).content
        == b"hi"
    )
