"""The web page in a real browser against a real server: browse, edit, diff, revert,
delete, a compare-and-set conflict made by a second writer, live updates and the live
indicator across a server restart, keyboard, JavaScript off and a phone-sized screen."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import shoot
from tests.servers import RevkvServer


def put(server: RevkvServer, ns: str, key: str, value: bytes, **headers: str) -> httpx.Response:
    answer = httpx.put(f"{server.url}/kv/{ns}/{key}", content=value, headers=headers)
    assert answer.status_code in (200, 201), answer.text
    return answer


def test_create_edit_diff_revert_and_delete(page: Any, server: RevkvServer) -> None:
    page.goto(server.url + "/ui/")
    page.get_by_text("Create a namespace").click()
    page.get_by_label("Name").fill("settings")
    page.get_by_label("Keep newest N versions").fill("10")
    page.get_by_role("button", name="Create").click()
    expect(page.locator("h1")).to_have_text("settings")

    page.locator("#new-key").click()
    page.get_by_label("Key").fill("app/db")
    page.locator("#payload").fill('{"host": "db1", "port": 5432}')
    page.locator("#comment").fill("first")
    page.locator("#save").click()
    expect(page.locator("h1")).to_have_text("app/db")
    expect(page.locator("#value .nt").first).to_have_text('"host"')  # highlighted JSON

    page.locator("#edit").click()
    page.locator("#payload").fill('{"host": "db2", "port": 5432}')
    page.locator("#comment").fill("move to db2")
    page.locator("#save").click()
    expect(page.locator("#version")).to_have_text("2")
    shoot(page, "key")

    page.locator('input[name="a"][value="1"]').check()
    page.locator('input[name="b"][value="2"]').check()
    page.locator("#compare-button").click()
    expect(page.locator("#diff td.del")).to_contain_text('"host": "db1"')
    expect(page.locator("#diff td.ins")).to_contain_text('"host": "db2"')
    shoot(page, "diff")

    row = page.locator('tr[data-version="1"]')
    row.get_by_text("Revert to v1").click()
    row.get_by_label("comment for the revert to v1").fill("db2 is down")
    row.get_by_role("button", name="Revert").click()
    expect(page.locator("#version")).to_have_text("3")
    expect(page.locator("#value")).to_contain_text("db1")
    expect(page.locator('tr[data-version="3"]')).to_contain_text("db2 is down")

    page.locator("#delete").click()  # the confirmation is accepted
    expect(page.locator("#deleted")).to_contain_text("Deleted in version 4")

    page.goto(server.url + "/ui/")
    expect(page.locator('[data-count="settings"]')).to_have_text("0")
    shoot(page, "namespaces")


def test_a_second_writer_during_an_edit_is_shown_never_overwritten(
    page: Any, server: RevkvServer
) -> None:
    put(server, "cfg", "motd", b"hello\n")
    page.goto(server.url + "/ui/edit/cfg?key=motd")
    expect(page.locator("#live")).to_have_attribute("data-state", "live")
    page.locator("#payload").fill("hello, world\n")
    put(server, "cfg", "motd", b"hello\nsee you\n", **{"If-Match": '"1"', "X-Revkv-Author": "bob"})
    expect(page.locator("#notice")).to_contain_text("bob saved version 2 while you edit")
    page.locator("#save").click()

    expect(page.locator("#conflict")).to_contain_text("Someone else saved first")
    expect(page.locator("#theirs")).to_contain_text("see you")
    expect(page.locator("#payload")).to_have_value("hello, world\n")
    shoot(page, "conflict")
    assert httpx.get(f"{server.url}/kv/cfg/motd").content == b"hello\nsee you\n"

    page.locator("#payload").fill("hello, world\nsee you\n")
    page.locator("#save").click()
    expect(page.locator("#version")).to_have_text("3")
    assert httpx.get(f"{server.url}/kv/cfg/motd").content == b"hello, world\nsee you\n"


def test_a_key_page_updates_live_and_the_indicator_reconnects(page: Any, tmp_path: Path) -> None:
    server = RevkvServer(tmp_path / "data").start()
    try:
        put(server, "cfg", "flag", b"off")
        page.goto(server.url + "/ui/key/cfg?key=flag")
        expect(page.locator("#live")).to_have_attribute("data-state", "live")
        page.evaluate("window.stillHere = true")

        put(server, "cfg", "flag", b"on")
        expect(page.locator("#version")).to_have_text("2")
        expect(page.locator("#value")).to_have_text("on")
        put(server, "cfg", "flagship", b"other key")  # same prefix: not this page's
        httpx.delete(f"{server.url}/kv/cfg/flag")
        expect(page.locator("#deleted")).to_contain_text("Deleted in version 3")
        assert page.evaluate("window.stillHere") is True  # updated in place, not reloaded

        server.stop()
        expect(page.locator("#live")).to_have_attribute("data-state", "down")
        shoot(page, "live-down")
        server.start()
        expect(page.locator("#live")).to_have_attribute("data-state", "live", timeout=30_000)
        put(server, "cfg", "flag", b"back")
        expect(page.locator("#version")).to_have_text("4")
    finally:
        server.stop()


def test_folders_filter_and_keyboard(page: Any, server: RevkvServer) -> None:
    for key in ("web/host", "web/port", "web/tls/cert", "readme"):
        put(server, "site", key.replace("/", "%2F"), b"x")
    page.goto(server.url + "/ui/ns/site")
    shoot(page, "namespace")
    page.locator("a.folder-link", has_text="web/").click()
    expect(page.locator("table.keys")).to_contain_text("tls/")
    expect(page.locator("table.keys")).to_contain_text("host")

    page.keyboard.press("/")
    expect(page.locator("#filter")).to_be_focused()
    page.keyboard.type("Version gt")
    page.keyboard.press("Enter")
    expect(page.locator("#filter-error")).to_contain_text("at position 10")
    caret = page.locator("#filter-error pre").inner_text()
    assert caret.splitlines()[1] == " " * 10 + "^"
    shoot(page, "filter-error")

    page.locator("#filter").fill("Key eq 'web/port'")
    page.keyboard.press("Enter")
    expect(page.locator("table.keys tbody tr")).to_have_count(1)
    page.locator("table.keys a").first.focus()
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("web/port")


def test_readable_with_javascript_off_and_on_a_phone(browser: Any, server: RevkvServer) -> None:
    put(server, "site", "conf", b'{"a": [1, 2, 3], "b": {"c": null}}')
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 390, "height": 844}, is_mobile=True
    )
    page = context.new_page()
    try:
        page.goto(server.url + "/ui/key/site?key=conf")
        expect(page.locator("#value")).to_contain_text('"c": null')
        assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
        shoot(page, "phone-key")
        page.locator("#edit").click()
        page.locator("#payload").fill('{"a": []}')
        page.locator("#save").click()  # a plain form post
        expect(page.locator("#version")).to_have_text("2")
        page.goto(server.url + "/ui/ns/site")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
        shoot(page, "phone-namespace")
    finally:
        context.close()


def test_a_binary_value_shows_as_hex_with_a_download(page: Any, server: RevkvServer) -> None:
    data = bytes(range(256)) * 4
    put(server, "files", "blob", data)
    page.goto(server.url + "/ui/key/files?key=blob")
    expect(page.locator("#value")).to_contain_text("00000000: 0001 0203")
    with page.expect_download() as download:
        page.locator("#download").click()
    assert Path(download.value.path()).read_bytes() == data
    assert re.search(r"1\.0 KiB", page.locator("#meta").inner_text())
